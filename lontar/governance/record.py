"""The responsible-AI record, built from what the run itself wrote: the data card (sources, licences,
PII and decontamination figures), the evaluation results and the manifest, plus the accountability
and intended uses the team declares in the config.

Nothing is inferred: an entry the run did not measure says "not assessed". The risk assessment follows
the seven principles of the ASEAN Guide on AI Governance and Ethics (2024).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lontar.config import RunConfig
from lontar.governance.licenses import license_check
from lontar.hub.base import base_hub_id, local_base, read_base_license
from lontar.manifest import read_manifest

SCHEMA_PATH = Path(__file__).with_name("governance.schema.json")
PRINCIPLES = ("Transparency and explainability", "Fairness and equity", "Security and safety",
              "Robustness and reliability", "Human-centricity", "Privacy and data governance",
              "Accountability and integrity")


@dataclass(frozen=True)
class RunRecords:
    """What the stages left in the run directory (None where a stage has not run)."""

    data_card: dict[str, Any] | None
    results: dict[str, Any] | None
    manifest: dict[str, Any]

    @classmethod
    def read(cls, run_dir: Path) -> "RunRecords":
        def load(path: Path) -> dict[str, Any] | None:
            return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

        return cls(data_card=load(run_dir / "corpus" / "data_card.json"), results=load(run_dir / "eval" / "results.json"),
                   manifest=read_manifest(run_dir) if (run_dir / "manifest.json").exists() else {"stages": []})


def eval_entries(results: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Flat list of the evaluation figures of every checkpoint: benchmark, language, subset, metric, value."""
    if not results:
        return []
    entries = []
    for row in results.get("rows", []):  # per benchmark, language and subset
        entries.append({"benchmark": row["benchmark"], "lang": row.get("lang"), "subset": row.get("subset"),
                        "metric": row["metric"], "value": float(row["value"]), "checkpoint": row.get("checkpoint", ""),
                        **({"type": row["type"]} if row.get("type") else {})})
    for name, r in ({} if entries else results.get("checkpoints", {})).items():  # older results: bits per byte only
        for metric in ("bits_per_byte", "bits_per_char"):
            if isinstance(r, dict) and isinstance(r.get(metric), (int, float)):
                entries.append({"benchmark": "held-out corpus", "lang": None, "subset": None, "metric": metric,
                                "value": float(r[metric]), "checkpoint": name})
    return entries


def _is_safety(e: dict[str, Any]) -> bool:
    return e.get("type") == "safety" or "safety" in e["benchmark"].lower() or "safeguard" in e["benchmark"].lower()


def _privacy(card: dict[str, Any] | None) -> dict[str, Any]:
    if card is None:
        return {"pii_step": "not assessed", "replacements_by_type": {}, "replacements_by_source": {}}
    ran = "pii" in card["steps"]
    by_source = {s["source"]: dict(s["steps"].get("pii", {}).get("counts", {})) for s in card["sources"]}
    by_type: dict[str, int] = {}
    for counts in by_source.values():
        for kind, n in counts.items():
            by_type[kind] = by_type.get(kind, 0) + n
    return {"pii_step": "ran" if ran else "off", "replacements_by_type": by_type,
            "replacements_by_source": by_source if ran else {}}


def _decontamination(card: dict[str, Any] | None, cfg: RunConfig) -> dict[str, Any]:
    if card is None:
        return {"step": "not assessed", "action": None, "documents": 0, "items_found": []}
    step = card["steps"].get("decontaminate")
    if step is None:
        return {"step": "off", "action": None, "documents": 0, "items_found": []}
    counts = step.get("counts", {})
    return {"step": "ran", "action": cfg.corpus.decontaminate.action, "documents": int(counts.get("documents", 0)),
            "items_found": sorted(k.removeprefix("item ") for k in counts if k.startswith("item "))}


def _data(card: dict[str, Any] | None) -> dict[str, Any]:
    if card is None:
        return {"assessed": False, "sources": [], "licenses": {}, "unknown_licenses": []}
    sources = [{"source": s["source"], "lang": s["lang"], **{k: s["provenance"][k] for k in
               ("license", "license_declared", "origin", "collected", "notes")},
               "docs_kept": s["kept"], "chars_kept": s.get("kept_chars", 0)} for s in card["sources"]]
    return {"assessed": True, "sources": sources, "licenses": card.get("licenses", {}),
            "unknown_licenses": card.get("unknown_licenses", [])}


def _evaluation(results: dict[str, Any] | None) -> dict[str, Any]:
    entries = eval_entries(results)
    cultural = [e for e in entries if e.get("subset") in ("CS", "CA")]
    safety = [e for e in entries if _is_safety(e)]
    return {"assessed": bool(entries), "results": entries,
            "cultural": {"status": "measured" if any(e["subset"] == "CS" for e in cultural) else "not assessed",
                         "results": cultural},
            "safety": {"status": "measured" if safety else "not assessed", "results": safety}}


def _status(full: bool, some: bool) -> str:
    return "measured" if full else ("partly assessed" if some else "not assessed")


def _fmt(e: dict[str, Any]) -> str:
    where = " ".join(x for x in (e.get("lang"), e.get("subset")) if x)
    return f"{e['benchmark']}{' ' + where if where else ''} ({e['checkpoint']}): {e['metric']} {e['value']:.4g}"


def risk_assessment(cfg: RunConfig, rec: dict[str, Any], manifest: dict[str, Any]) -> list[dict[str, Any]]:
    g, data, ev = cfg.governance, rec["data"], rec["evaluation"]
    stages = [s["stage"] for s in manifest.get("stages", [])]
    out = []

    transparency = []
    if data["assessed"]:
        transparency.append(f"data card: {len(data['sources'])} source(s), every step's documents in and out")
    if stages:
        transparency.append(f"lineage: stages {', '.join(dict.fromkeys(stages))} with input and output sha256")
    out.append({"principle": PRINCIPLES[0], "status": _status(bool(data["assessed"] and stages), bool(transparency)),
                "findings": transparency or ["no data card or lineage in the run"]})

    published = [e for e in ev["cultural"]["results"] if e["checkpoint"] == "adapter" and e["metric"] in ("acc", "chrf", "f1")]
    cs = [e for e in published if e["subset"] == "CS"]
    ca = [e for e in published if e["subset"] == "CA"]
    langs = sorted({e["lang"] for e in ev["results"] if e.get("lang")})
    fairness = [f"culturally sensitive: {_fmt(e)}" for e in cs] + [f"culturally agnostic: {_fmt(e)}" for e in ca]
    if langs:
        fairness.append(f"evaluated per language: {', '.join(langs)}")
    out.append({"principle": PRINCIPLES[1], "status": _status(bool(cs and ca), bool(fairness)),
                "findings": fairness or ["not assessed: no per-language or culturally sensitive evaluation"]})

    safety = [_fmt(e) for e in ev["safety"]["results"]]
    out.append({"principle": PRINCIPLES[2], "status": _status(bool(safety), False),
                "findings": safety or ["not assessed: no safety benchmark was run (add a safety task to eval)"]})

    robust = [_fmt(e) for e in ev["results"] if e["benchmark"] in ("heldout", "held-out corpus") and e["metric"] == "bits_per_byte"
              and not e.get("lang")]
    dec = rec["decontamination"]
    if dec["step"] == "ran":
        robust.append(f"decontamination ({dec['action']}): {dec['documents']} document(s), "
                      f"{len(dec['items_found'])} benchmark item(s) found")
    out.append({"principle": PRINCIPLES[3], "status": _status(bool(robust) and dec["step"] == "ran", bool(robust)),
                "findings": robust or ["not assessed: no held-out evaluation or decontamination"]})

    human = []
    if g.intended_uses:
        human.append("intended uses declared: " + "; ".join(g.intended_uses))
    if g.out_of_scope_uses:
        human.append("out-of-scope uses declared: " + "; ".join(g.out_of_scope_uses))
    out.append({"principle": PRINCIPLES[4], "status": _status(False, bool(human)),
                "findings": (human + ["declared by the team, not measured"]) if human else
                ["not assessed: no intended or out-of-scope uses in governance"]})

    priv = rec["privacy"]
    privacy = []
    if priv["pii_step"] == "ran":
        total = sum(priv["replacements_by_type"].values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(priv["replacements_by_type"].items())) or "none found"
        privacy.append(f"PII scrubbed: {total} replacement(s) ({kinds})")
    elif priv["pii_step"] == "off":
        privacy.append("PII scrubbing was turned off for this run")
    if data["assessed"]:
        lic = ", ".join(f"{k}: {v['docs']:,} docs" for k, v in data["licenses"].items())
        privacy.append(f"licences: {lic}" + (f"; unknown for {', '.join(data['unknown_licenses'])}"
                                              if data["unknown_licenses"] else ""))
    out.append({"principle": PRINCIPLES[5],
                "status": _status(priv["pii_step"] == "ran" and data["assessed"] and not data["unknown_licenses"],
                                  bool(privacy)),
                "findings": privacy or ["not assessed: no data card"]})

    account = []
    if g.contact:
        account.append(f"accountable contact: {g.contact}" + (f" ({g.organisation})" if g.organisation else ""))
    if stages:
        account.append(f"reproducible from config hash {cfg.hash()} and the manifest")
    out.append({"principle": PRINCIPLES[6], "status": _status(bool(g.contact and stages), bool(account)),
                "findings": account or ["not assessed: no contact in governance and no lineage"]})
    return out


def audit_items(cfg: RunConfig, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Each item `lontar audit` checks: ok or not, and why."""
    data, ev, priv, dec = rec["data"], rec["evaluation"], rec["privacy"], rec["decontamination"]
    g = cfg.governance
    checks = [
        ("contact", bool(g.contact), g.contact or "no accountable contact (governance.contact)"),
        ("intended_uses", bool(g.intended_uses), f"{len(g.intended_uses)} declared" if g.intended_uses
         else "no intended uses (governance.intended_uses)"),
        ("known_licenses", data["assessed"] and not data["unknown_licenses"],
         "no data card: run the corpus stage" if not data["assessed"] else
         (f"unknown licence: {', '.join(data['unknown_licenses'])}" if data["unknown_licenses"] else
          "every source declares a licence")),
        ("pii_scrubbed", priv["pii_step"] == "ran", f"PII step {priv['pii_step']}"),
        ("decontaminated", dec["step"] == "ran", f"decontamination {dec['step']}"
         + (f": {len(dec['items_found'])} item(s) found" if dec["step"] == "ran" else "")),
        ("evaluated", ev["assessed"], f"{len(ev['results'])} evaluation figure(s)" if ev["assessed"]
         else "no evaluation results: run the eval stage"),
        ("cultural_eval", ev["cultural"]["status"] == "measured",
         "culturally sensitive questions evaluated" if ev["cultural"]["status"] == "measured"
         else "no evaluation on culturally sensitive questions (e.g. Global-MMLU-Lite CS)"),
        ("safety_eval", ev["safety"]["status"] == "measured",
         "safety benchmark evaluated" if ev["safety"]["status"] == "measured" else "no safety evaluation"),
        ("base_license", rec["model"]["license_check"]["ok"], rec["model"]["license_check"]["detail"]),
    ]
    return [{"item": item, "ok": bool(ok), "detail": detail} for item, ok, detail in checks]


def model_record(cfg: RunConfig) -> dict[str, Any]:
    """The base by hub id (a machine path is never recorded), its licence and the adapter's."""
    m = cfg.model
    source = ("random init" if m.architecture is not None else "hub" if not local_base(cfg) else
              "local GGUF file" if (m.name_or_path or "").lower().endswith(".gguf") or getattr(m, "gguf_file", None)
              else "local folder")
    base_license = read_base_license(cfg)
    ok, detail = license_check(cfg.publish.license, base_license, m.architecture is not None)
    return {"base": base_hub_id(cfg), "base_source": source, "kind": "lora-adapter",
            "languages": sorted({s.lang for s in cfg.corpus.sources}), "repo_id": cfg.publish.repo_id,
            "license": cfg.publish.license, "base_license": base_license,
            "license_check": {"ok": ok, "detail": detail}}


def build_record(cfg: RunConfig) -> dict[str, Any]:
    records = RunRecords.read(cfg.run_dir)
    g = cfg.governance
    rec: dict[str, Any] = {
        "schema_version": 1, "run": cfg.name, "config_hash": cfg.hash(),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_record(cfg),
        "accountability": {"contact": g.contact, "organisation": g.organisation},
        "uses": {"intended": list(g.intended_uses), "out_of_scope": list(g.out_of_scope_uses)},
        "data": _data(records.data_card),
        "privacy": _privacy(records.data_card),
        "decontamination": _decontamination(records.data_card, cfg),
        "evaluation": _evaluation(records.results),
        "limitations": list(g.limitations),
    }
    rec["risk_assessment"] = risk_assessment(cfg, rec, records.manifest)
    rec["audit"] = audit_items(cfg, rec)
    return rec


def validate_record(rec: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when the record does not follow the shipped schema."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(rec, schema, format_checker=jsonschema.FormatChecker())
