"""The model card: valid hub metadata plus how the adapter was made, from the run's own records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from lontar.config import RunConfig


def hub_id(name: str | None) -> str | None:
    """The base model's hub id for the card's metadata; None for a local folder."""
    if not name or Path(name).expanduser().exists() or name.startswith((".", "/", "~")):
        return None
    return name


def card_datasets(cfg: RunConfig) -> list[str]:
    """Hub ids of the training data: the config's hf sources and `publish.datasets`."""
    ids = [s.dataset for s in cfg.corpus.sources if s.type == "hf" and s.dataset and hub_id(s.dataset)]
    return list(dict.fromkeys([*ids, *cfg.publish.datasets]))


def card_metadata(cfg: RunConfig, results: dict[str, Any] | None, merged: bool = False) -> ModelCardData:
    langs = sorted({s.lang for s in cfg.corpus.sources})
    repo = merged_repo_id(cfg) if merged else cfg.publish.repo_id
    model_name = repo.split("/")[-1] if repo else cfg.name + ("-merged" if merged else "")
    evals = []
    if results:
        # model-index describes the published model: the run's adapter, not the base it started from.
        for name, r in results["checkpoints"].items():
            if name != "adapter":
                continue
            evals.append(EvalResult(
                task_type="text-generation", task_name="Language modelling",
                dataset_type="lontar-validation", dataset_name=f"{cfg.name} validation split ({'+'.join(langs)})",
                dataset_split="validation", metric_type="bits_per_byte",
                metric_name="bits per byte", metric_value=round(r["bits_per_byte"], 5)))
        for row in results.get("rows", []):
            if row["checkpoint"] != "adapter" or row["benchmark"] == "heldout" or row.get("subset") not in (None, "CS", "CA"):
                continue
            if row["metric"] not in ("acc", "acc_norm", "chrf", "bleu", "exact_match", "f1"):
                continue
            name = row["benchmark"] + "".join(f" {x}" for x in (row.get("lang"), row.get("subset")) if x)
            evals.append(EvalResult(
                task_type="text-generation", task_name=name, dataset_type=row["benchmark"], dataset_name=name,
                metric_type=row["metric"], metric_name=row["metric"], metric_value=round(float(row["value"]), 5)))
    base = hub_id(cfg.model.name_or_path)
    extra = {"base_model_relation": "merge"} if merged and base else {}
    return ModelCardData(
        base_model=base, library_name="transformers" if merged else "peft", language=langs,
        license=cfg.publish.license, datasets=card_datasets(cfg) or None,
        tags=[*cfg.publish.tags, *langs, *(["merge"] if merged else [])], pipeline_tag="text-generation",
        model_name=model_name, eval_results=evals or None, **extra)


def merged_repo_id(cfg: RunConfig) -> str | None:
    p = cfg.publish
    return p.merged_repo_id or (f"{p.repo_id}-merged" if p.repo_id else None)


HEADLINE_METRICS = ("acc", "chrf", "exact_match", "f1")  # one per benchmark kind; the rest are in results.json


def vocab_changed(cfg: RunConfig) -> bool:
    """The run trains with a tokenizer extended from the base model's: new rows travel with the adapter."""
    return cfg.tokenizer.mode == "extend" and cfg.model.tokenizer == "run"


def _merged_snippet(cfg: RunConfig) -> str:
    repo = merged_repo_id(cfg) or "path/to/this/folder"
    return "\n".join(["```python", "from transformers import AutoModelForCausalLM, AutoTokenizer", "",
                      f'model = AutoModelForCausalLM.from_pretrained("{repo}")',
                      f'tokenizer = AutoTokenizer.from_pretrained("{repo}")', "```"])


def _load_snippet(cfg: RunConfig, includes_base: bool) -> str:
    repo = cfg.publish.repo_id
    lines = ["```python", "from peft import PeftModel", "from transformers import AutoModelForCausalLM, AutoTokenizer", ""]
    if includes_base:
        # The random-init base sits in base_model/; load it by path (a subfolder of an adapter repo would make
        # transformers follow adapter_config.json instead).
        if repo:
            lines += ["from huggingface_hub import snapshot_download", "", f'folder = snapshot_download("{repo}")']
        else:
            lines += ['folder = "path/to/this/folder"']
        lines += ['base = AutoModelForCausalLM.from_pretrained(f"{folder}/base_model")']
    else:
        lines += [f'folder = "{repo or "path/to/this/folder"}"',
                  f'base = AutoModelForCausalLM.from_pretrained("{cfg.model.name_or_path}")']
    lines += ["tokenizer = AutoTokenizer.from_pretrained(folder)"]
    if vocab_changed(cfg):
        # The adapter carries the trained rows of the new tokens; the base must have room for them first.
        lines += ["base.resize_token_embeddings(len(tokenizer))  # the tokenizer adds tokens; the adapter holds their rows"]
    lines += ["model = PeftModel.from_pretrained(base, folder)", "```"]
    return "\n".join(lines)


def _tokenizer_md(report: dict[str, Any]) -> list[str]:
    tok = report["tokenizer"]
    if "base" in tok:
        what = (f"`{tok['base']}`'s tokenizer ({tok['model_type']}) extended with {tok['new_tokens']:,} tokens learned "
                f"on this run's corpus, every base id unchanged; {tok['vocab_size']:,} in all.")
    else:
        what = f"SentencePiece {tok['model_type']}, {tok['vocab_size']:,} pieces, trained on this run's corpus."
    lines = ["## Tokenizer", "", what, "", "| text | tokenizer | tokens/char | bytes/token | byte fallback |",
             "|---|---|---:|---:|---:|"]
    per_lang = report.get("compare", {}).get("validation") or {k: {"run": v} for k, v in report["validation"].items()}
    for lang, by_tok in per_lang.items():
        lines += [f"| {lang} validation | {name} | {v['tokens_per_char']} | {v['bytes_per_token']} | "
                  f"{v['byte_fallback_rate']:.4%} |" for name, v in by_tok.items()]
    return lines + ["", "The full report is `tokenizer_report.json`.", ""]


def _license_note(s: dict[str, Any]) -> str:
    if s["license_declared"] or s["license"] == "unknown":
        return ""
    return " (as its package declares)"


def _na(text: str) -> str:
    return f"*Not assessed:* {text}"


def responsible_ai_md(rec: dict[str, Any]) -> list[str]:
    """The card's "Responsible AI" section, from the governance record: measured, or plainly not assessed."""
    uses, acc, data = rec["uses"], rec["accountability"], rec["data"]
    lines = ["## Responsible AI", "",
             "Organised along the ASEAN Guide on AI Governance and Ethics (2024); the full record, with a JSON "
             "schema, is `governance.json`.", "", "### Intended and out-of-scope uses", ""]
    lines += [f"- Intended: {u}" for u in uses["intended"]] or [f"- {_na('no intended uses declared (governance.intended_uses)')}"]
    lines += [f"- Out of scope: {u}" for u in uses["out_of_scope"]] or [
        f"- {_na('no out-of-scope uses declared (governance.out_of_scope_uses)')}"]
    lines += ["", "### Accountability", "", f"- Contact: {acc['contact']}" + (f" ({acc['organisation']})" if acc["organisation"] else "")
              if acc["contact"] else f"- {_na('no accountable contact declared (governance.contact)')}",
              "", "### Data provenance and licences", ""]
    if data["assessed"]:
        lines += ["| source | lang | licence | origin | documents kept |", "|---|---|---|---|---:|"]
        lines += [f"| {s['source']} | {s['lang']} | {s['license']}{_license_note(s)} | "
                  f"{s['origin'] or '-'} | {s['docs_kept']:,} |" for s in data["sources"]]
        if data["unknown_licenses"]:
            lines += ["", f"Unknown licence: {', '.join(data['unknown_licenses'])}."]
    else:
        lines.append(_na("no data card in the run"))
    priv, dec = rec["privacy"], rec["decontamination"]
    lines += ["", "### Personal data", ""]
    if priv["pii_step"] == "ran":
        kinds = ", ".join(f"{k}: {v:,}" for k, v in sorted(priv["replacements_by_type"].items())) or "none found"
        lines.append("E-mails, phone numbers, IP addresses, ID-like numbers and URLs were replaced by placeholders "
                     f"before training ({kinds}). Names and addresses are not detected.")
    else:
        lines.append(_na("PII scrubbing did not run") if priv["pii_step"] == "not assessed" else
                     "PII scrubbing was turned off for this run: personal data may remain in the training text.")
    lines += ["", "### Benchmark contamination", ""]
    lines.append(f"Training documents sharing an n-gram with evaluation items: {dec['documents']:,} ({dec['action']}); "
                 f"{len(dec['items_found'])} item(s) found." if dec["step"] == "ran" else
                 _na("decontamination against the evaluation sets was off (corpus.decontaminate)"))
    ev = rec["evaluation"]
    lines += ["", "### Evaluation, culturally sensitive subsets and safety", ""]
    lines.append("Results: see *Evaluation* above." if ev["assessed"] else _na("no evaluation results"))
    for key, label in (("cultural", "culturally sensitive questions (CS against CA)"), ("safety", "safety")):
        part = ev[key]
        if part["status"] == "measured":
            lines += [f"- {label}:"] + [f"  - {r['benchmark']} {r.get('lang') or ''} {r.get('subset') or ''} "
                                        f"({r['checkpoint']}): {r['metric']} {r['value']:.4g}" for r in part["results"]]
        else:
            lines.append(f"- {label}: {_na('no such benchmark in this run')}")
    lines += ["", "### Known limitations", ""]
    lines += [f"- {x}" for x in rec["limitations"]] or [f"- {_na('none declared (governance.limitations)')}"]
    lines += ["", "### Risk assessment", "", "| principle | status | what the run shows |", "|---|---|---|"]
    lines += [f"| {p['principle']} | {p['status']} | {'; '.join(p['findings'])} |" for p in rec["risk_assessment"]]
    return lines + [""]


def render_card(cfg: RunConfig, *, results: dict[str, Any] | None, data_card: dict[str, Any] | None,
                tokenizer_report: dict[str, Any] | None, manifest: dict[str, Any], includes_base: bool,
                merged: bool = False, governance: dict[str, Any] | None = None) -> ModelCard:
    meta = card_metadata(cfg, results, merged)
    name = cfg.model.name_or_path
    base_desc = ((f"[`{name}`](https://huggingface.co/{name})" if hub_id(name) else f"`{name}`") if name else
                 "a small model initialised at random from the run config's `model.architecture` "
                 "(included in `base_model/`): a demonstration run, not a useful language model")
    langs = ", ".join(meta.language or [])
    what = (f"{base_desc} with a LoRA adapter merged into its weights (a full model; no peft needed)" if merged
            else f"A LoRA adapter for {base_desc}")
    parts = [
        f"# {meta.model_name}", "",
        f"{what[0].upper() + what[1:]}, trained with lontar on {langs} text "
        f"(run `{cfg.name}`, config hash `{cfg.hash()}`).", "",
        "## How to load", "", _merged_snippet(cfg) if merged else _load_snippet(cfg, includes_base), "",
    ]
    if results:
        parts += ["## Evaluation", "",
                  f"Bits per byte on the run's held-out validation split ({results['docs']:,} documents, "
                  f"{results['bytes']:,} UTF-8 bytes; lower is better; comparable across tokenizers).", "",
                  "| checkpoint | bits/byte | bits/char |", "|---|---:|---:|"]
        parts += [f"| {n} | {r['bits_per_byte']:.4f} | {r['bits_per_char']:.4f} |" for n, r in results["checkpoints"].items()]
        parts.append("")
        bench = [r for r in results.get("rows", []) if r["benchmark"] != "heldout" and r["metric"] in HEADLINE_METRICS]
        if bench:
            parts += ["Benchmarks (95% bootstrap intervals; the full leaderboard is `results.json`):", "",
                      "| benchmark | lang | subset | metric | checkpoint | score | 95% CI | n |", "|---|---|---|---|---|---:|---|---:|"]
            for r in bench:
                ci = f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]" if r.get("ci") else "-"
                parts.append(f"| {r['benchmark']} | {r.get('lang') or '-'} | {r.get('subset') or 'all'} | {r['metric']} | "
                             f"{r['checkpoint']} | {r['value']:.4f} | {ci} | {r.get('n', '')} |")
            parts.append("")
    if data_card:
        splits = data_card["splits"]
        parts += ["## Training data", "",
                  "| source | lang | read | kept | duplicates | rejected |", "|---|---|---:|---:|---:|---:|"]
        parts += [f"| {s['source']} | {s['lang']} | {s['read']:,} | {s['kept']:,} | {s['duplicates']:,} | "
                  f"{sum(s['rejected'].values()):,} |" for s in data_card["sources"]]
        parts += ["", f"Train split: {splits['train']['docs']:,} documents, {splits['train']['chars']:,} characters. "
                  "Processing: " + "; ".join(data_card["step_descriptions"].values()) + ".", ""]
    if tokenizer_report:
        parts += _tokenizer_md(tokenizer_report)
    if governance:
        parts += responsible_ai_md(governance)
    parts += ["## Training configuration", "", "```yaml",
              yaml.safe_dump({k: cfg.to_dict()[k] for k in ("model", "lora", "train")}, sort_keys=False,
                             allow_unicode=True).strip(), "```", "", "The full resolved config is `lontar_config.yaml`.", "",
              "## Lineage", "", "| stage | started (UTC) | seconds | config hash | outputs |", "|---|---|---:|---|---|"]
    for st in manifest.get("stages", []):
        outs = ", ".join(f"`{o['path']}` ({o.get('sha256', '')[:12]})" for o in st["outputs"])
        parts.append(f"| {st['stage']} | {st['started']} | {st['seconds']} | `{st['config_hash']}` | {outs} |")
    last = manifest["stages"][-1]["versions"] if manifest.get("stages") else {}
    parts += ["", "Library versions: " + ", ".join(f"{k} {v}" for k, v in last.items()) + ".",
              "The full record is `lontar_manifest.json`.", ""]
    content = f"---\n{meta.to_yaml()}\n---\n\n" + "\n".join(parts)
    return ModelCard(content)
