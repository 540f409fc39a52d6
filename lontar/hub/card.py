"""The model card: valid hub metadata plus how the adapter was made, from the run's own records."""

from __future__ import annotations

from typing import Any

import yaml
from huggingface_hub import ModelCard, ModelCardData

from lontar.config import RunConfig
from lontar.eval.task import tasks_dir
from lontar.governance.licenses import license_check
from lontar.hub.base import base_hub_id, local_base, looks_like_hub_id
from lontar.hub.model_index import eval_results


def hub_id(name: str | None) -> str | None:
    """`name` when it is a hub id, None for a local folder or file."""
    return name if looks_like_hub_id(name) else None


def card_datasets(cfg: RunConfig) -> list[str]:
    """Hub ids of the training data: the config's hf sources, hub chat sets of every phase, and `publish.datasets`."""
    ids = [s.dataset for s in cfg.corpus.sources if s.type == "hf" and s.dataset and hub_id(s.dataset)]
    ids += [d.dataset for d in cfg.train.all_datasets() if d.dataset and hub_id(d.dataset)]
    return list(dict.fromkeys([*ids, *cfg.publish.datasets]))


def card_metadata(cfg: RunConfig, results: dict[str, Any] | None, merged: bool = False,
                  left_out: list[str] | None = None) -> ModelCardData:
    """Hub metadata; the model-index holds the adapter's scores (the merged model has the same weights).
    Entries the hub could not keep apart are appended to `left_out`."""
    langs = sorted({s.lang for s in cfg.corpus.sources})
    repo = merged_repo_id(cfg) if merged else cfg.publish.repo_id
    model_name = repo.split("/")[-1] if repo else cfg.name + ("-merged" if merged else "")
    evals: list[Any] = []
    if results:
        evals, dropped = eval_results(results, cfg.name, "adapter", tasks_dir(cfg.eval.tasks_dir))
        if left_out is not None:
            left_out.extend(dropped)
    base = base_hub_id(cfg)
    extra = {"base_model_relation": "merge" if merged else "adapter"} if base else {}
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


def adds_vocabulary(cfg: RunConfig) -> bool:
    """A pretrained base whose embeddings the run resized: what vLLM cannot serve as a LoRA adapter."""
    return cfg.model.architecture is None and cfg.model.tokenizer == "run"


def merge_wanted(cfg: RunConfig) -> bool:
    """`publish.merge`, or when unset: merge when the run adds vocabulary to a pretrained base."""
    return cfg.publish.merge if cfg.publish.merge is not None else adds_vocabulary(cfg)


def checkpoint_label(cfg: RunConfig, name: str, info: dict[str, Any] | None) -> str:
    """What a results row is, in words: the base as loaded (original or resized), the adapter, a checkpoint by step."""
    info = info or {}
    kind, step = info.get("kind", name), info.get("step")
    if kind == "base" or name == "base":
        if cfg.model.architecture is not None:
            return "base (random init)"
        if cfg.model.tokenizer != "run":
            return "base (original)"
        if cfg.tokenizer.mode == "extend":
            return "base (resized, new rows initialised)"
        return "base (resized to the run's tokenizer)"
    if name == "adapter":
        return f"adapter (step {step})" if step else "adapter"
    if kind == "model":
        return f"full model {name}" + (f" (step {step})" if step is not None else "")
    return f"checkpoint step {step}" if step is not None else f"checkpoint {name}"


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
        base = base_hub_id(cfg)
        lines += [f'folder = "{repo or "path/to/this/folder"}"']
        lines += [f'base = AutoModelForCausalLM.from_pretrained("{base}")' if base else
                  'base = AutoModelForCausalLM.from_pretrained(BASE_MODEL)  # see "Base model" below']
    lines += ["tokenizer = AutoTokenizer.from_pretrained(folder)"]
    if vocab_changed(cfg):
        # The adapter carries the trained rows of the new tokens; the base must have room for them first.
        lines += ["base.resize_token_embeddings(len(tokenizer))  # the tokenizer adds tokens; the adapter holds their rows"]
    lines += ["model = PeftModel.from_pretrained(base, folder)", "```"]
    return "\n".join(lines)


def _base_md(cfg: RunConfig, base_license: dict[str, Any], merged: bool) -> list[str]:
    """The base model and the licences: the adapter's own and the base's terms, which bind it too."""
    m = cfg.model
    lines = ["## Base model and licence", ""]
    base = base_hub_id(cfg)
    if m.architecture is not None:
        lines.append("Base: a small model initialised at random from the run config" +
                     ("" if merged else " (in `base_model/`)") + "; no pretrained weights, so no base licence applies.")
    elif base and local_base(cfg):
        lines.append(f"Base: [`{base}`](https://huggingface.co/{base}), loaded from a local copy "
                     "(declared by `model.hub_id`).")
    elif base:
        lines.append(f"Base: [`{base}`](https://huggingface.co/{base}).")
    else:
        lines.append("Base: a local copy of a pretrained model whose hub id was not declared (`model.hub_id`), so "
                     "this card cannot name it and its metadata has no `base_model`. Load that same base as "
                     "`BASE_MODEL` in the snippet above.")
    what = "This merged model" if merged else "This adapter"
    lines += ["", f"- {what}: `{cfg.publish.license}` (`publish.license`)."]
    if m.architecture is None:
        lic = base_license.get("license")
        if lic:
            named = f" ({base_license['license_name']})" if base_license.get("license_name") else ""
            link = f", {base_license['license_link']}" if base_license.get("license_link") else ""
            lines.append(f"- Base model: `{lic}`{named}{link}, read from {base_license['source']}. "
                         f"Using {what.lower()} means using the base, so the base's terms apply as well.")
        else:
            lines.append(f"- Base model: unknown ({base_license['source']}). Check the base's own terms before use.")
        if base_license.get("terms_files"):
            lines.append(f"- Terms files beside the base's weights: {', '.join(base_license['terms_files'])}.")
        ok, detail = license_check(cfg.publish.license, base_license, False)
        if not ok and base_license.get("license"):
            lines.append(f"- **Licence mismatch**: {detail.removeprefix('licence mismatch: ')}.")
    return lines + [""]


def _serving_md(cfg: RunConfig, merged: bool, merged_written: bool) -> list[str]:
    """How to serve it; a LoRA adapter that adds vocabulary cannot be served by vLLM as an adapter."""
    lines = ["## Serving", ""]
    merged_repo = merged_repo_id(cfg)
    merged_ref = (f"[`{merged_repo}`](https://huggingface.co/{merged_repo})" if merged_repo else
                  "written beside this folder (`merged/` in the run)")
    serve = merged_repo or "path/to/merged"
    if merged:
        return lines + ["A full model: `vllm serve " + (merged_repo_id(cfg) or "path/to/this/folder") + "`, or "
                        "`AutoModelForCausalLM.from_pretrained` as above.", ""]
    if adds_vocabulary(cfg):
        lines.append("The run's tokenizer gives the base new tokens, so the embeddings grew and the adapter holds the "
                     "new rows. vLLM cannot serve a LoRA adapter that adds vocabulary (its extra-vocabulary support "
                     "was removed).")
        if merged_written:
            lines.append(f"Serve the merged model instead, {merged_ref}: `vllm serve {serve}`. In transformers, load "
                         "either the merged model or the base resized and this adapter, as above.")
        else:
            lines.append("No merged model was written (`publish.merge: false`): run `lontar publish --merge` to write "
                         "one for vLLM; in transformers, load the base resized and this adapter, as above.")
    else:
        folder = cfg.publish.repo_id or "path/to/this/folder"
        base = base_hub_id(cfg) or ("path/to/this/folder/base_model" if cfg.model.architecture else "BASE_MODEL")
        lines.append(f"In transformers as above. With vLLM: `vllm serve {base} --enable-lora --lora-modules "
                     f"{cfg.name}={folder}`" + (" (the random-init base is the folder's `base_model/`)."
                                                if cfg.model.architecture else "."))
        if merged_written:
            lines.append(f"A merged full model is also published, {merged_ref}.")
    return lines + [""]


def _phases_md(phases: list[dict[str, Any]]) -> list[str]:
    """Every phase of a phased run, so the card does not describe the last one only."""
    lines = [f"Trained in {len(phases)} phases, in this order, on one adapter (each phase with a fresh optimizer "
             "state and its own warmup and decay; the adapter published is the last phase's):", "",
             "| phase | steps | learning rate | tokens trained per data set | per language |", "|---|---:|---|---|---|"]
    for p in phases:
        seen = p.get("tokens_seen") or {}
        per_ds = ", ".join(f"{k} {v:,}" for k, v in (seen.get("by_dataset") or {}).items()) or "-"
        per_lang = ", ".join(f"{k} {v:,}" for k, v in (seen.get("by_lang") or {}).items()) or "-"
        lines.append(f"| {p['name']} | {p['steps']:,} (steps {p['first_step']:,}-{p['last_step']:,}) | {p['lr']:g}, "
                     f"{p['warmup_steps']} warmup, {p['lr_scheduler']} | {per_ds} | {per_lang} |")
    return lines + [""]


def _training_data_md(data: list[dict[str, Any]], tokens: dict[str, Any],
                      phases: list[dict[str, Any]] | None = None) -> list[str]:
    lines = _phases_md(phases) if phases else []
    phased = any(d.get("phase") for d in data)
    lines += ["Every data set the adapter was trained on, with its files' sha256 (the run's corpus shards as the "
              "train stage read them):", "", "| data set | " + ("phase | " if phased else "") + "type | weight | file | "
              "bytes | sha256 |", "|---|" + ("---|" if phased else "") + "---|---:|---|---:|---|"]
    for d in data:
        files = d["files"] or [{"path": d.get("dataset") or "-", "bytes": None, "sha256": None}]
        for f in files:
            size = f"{f['bytes']:,}" if isinstance(f.get("bytes"), int) else "-"
            lines.append(f"| {d['name']} | " + (f"{d.get('phase') or '-'} | " if phased else "")
                         + f"{d['type']} | {d['weight']} | `{f['path']}` | {size} | "
                         f"`{f.get('sha256') or 'not recorded'}` |")
    notes = [d["note"] for d in data if d.get("note")]
    lines += [""] + [f"{n}" for n in notes] + ([""] if notes else [])
    for key, per_lang in tokens.items():
        lines += [f"{key.replace('_', ' ').capitalize()}: " + ", ".join(f"{k} {v:,}" for k, v in per_lang.items()) + ".", ""]
    return lines


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
    parallel = report.get("compare", {}).get("parallel") or {}
    if parallel:  # what the same content costs in each language, against the reference (English)
        ref = report["compare"].get("reference", "en")
        lines += ["", f"Parity against {ref} on parallel text (tokens for the same content; 1.0 costs what {ref} "
                  "costs):", "", "| lang | parallel set | tokenizer | parity | tokens/char |", "|---|---|---|---:|---:|"]
        for lang, by_tok in parallel.items():
            lines += [f"| {lang} | {v.get('set', '-')} | {name} | {v['parity']} | {v['tokens_per_char']} |"
                      for name, v in by_tok.items()]
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
                merged: bool = False, governance: dict[str, Any] | None = None,
                base_license: dict[str, Any] | None = None, training_data: list[dict[str, Any]] | None = None,
                training_tokens: dict[str, Any] | None = None, merged_written: bool = False,
                config: dict[str, Any] | None = None, training_phases: list[dict[str, Any]] | None = None) -> ModelCard:
    """The card from the run's records, already free of machine paths (`config`: the resolved config as
    published; default the live one)."""
    left_out: list[str] = []
    meta = card_metadata(cfg, results, merged, left_out)
    base = base_hub_id(cfg)
    if cfg.model.architecture is not None:
        base_desc = ("a small model initialised at random from the run config's `model.architecture` "
                     "(included in `base_model/`): a demonstration run, not a useful language model")
    elif base:
        base_desc = f"[`{base}`](https://huggingface.co/{base})"
    else:
        base_desc = "a pretrained base loaded from a local copy (no hub id declared; see *Base model and licence*)"
    langs = ", ".join(meta.language or [])
    what = (f"{base_desc} with a LoRA adapter merged into its weights (a full model; no peft needed)" if merged
            else f"A LoRA adapter for {base_desc}")
    parts = [
        f"# {meta.model_name}", "",
        f"{what[0].upper() + what[1:]}, trained with lontar on {langs} text "
        f"(run `{cfg.name}`, config hash `{cfg.hash()}`).", "",
        "## How to load", "", _merged_snippet(cfg) if merged else _load_snippet(cfg, includes_base), "",
    ]
    parts += _serving_md(cfg, merged, merged_written)
    parts += _base_md(cfg, base_license or {"license": None, "source": "not read"}, merged)
    if results:
        ckpts = results.get("checkpoints", {})
        label = {n: checkpoint_label(cfg, n, info) for n, info in ckpts.items()}
        parts += ["## Evaluation", ""]
        if merged:
            parts += ["The merged model has the adapter's weights: its scores are the rows marked adapter.", ""]
        held = {n: r for n, r in ckpts.items() if isinstance(r, dict) and "bits_per_byte" in r}
        if held:
            docs, size = results.get("docs"), results.get("bytes")
            counts = f"{docs:,} documents, {size:,} UTF-8 bytes; " if isinstance(docs, int) and isinstance(size, int) else ""
            parts += [f"Bits per byte on the run's held-out validation split ({counts}lower is better; comparable "
                      "across tokenizers).", "", "| checkpoint | bits/byte | bits/char |", "|---|---:|---:|"]
            parts += [f"| {label[n]} | {r['bits_per_byte']:.4f} | {r.get('bits_per_char', float('nan')):.4f} |"
                      for n, r in held.items()]
            parts.append("")
        bench = [r for r in results.get("rows", []) if r["benchmark"] != "heldout" and r["metric"] in HEADLINE_METRICS]
        if bench:
            parts += ["Benchmarks (95% bootstrap intervals; the full leaderboard is `results.json`):", "",
                      "| benchmark | lang | subset | metric | checkpoint | score | 95% CI | n |", "|---|---|---|---|---|---:|---|---:|"]
            for r in bench:
                ci = f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]" if r.get("ci") else "-"
                parts.append(f"| {r['benchmark']} | {r.get('lang') or '-'} | {r.get('subset') or 'all'} | {r['metric']} | "
                             f"{label.get(r['checkpoint'], r['checkpoint'])} | {r['value']:.4f} | {ci} | {r.get('n', '')} |")
            parts.append("")
        parts += ["The hub metadata (`model-index`) holds the adapter's figures, one entry per task and language on "
                  "the dataset, config and split scored; subsets are named in the metric (`acc_culturally_sensitive`, "
                  "`acc_culturally_agnostic`)." + (" Left out of it: " + "; ".join(left_out) + "." if left_out else ""), ""]
    if data_card or training_data:
        parts += ["## Training data", ""]
    if data_card:
        splits = data_card["splits"]
        parts += ["Corpus sources (the run's corpus stage; provenance and licences under *Responsible AI*):", "",
                  "| source | lang | read | kept | duplicates | rejected |", "|---|---|---:|---:|---:|---:|"]
        parts += [f"| {s['source']} | {s['lang']} | {s['read']:,} | {s['kept']:,} | {s['duplicates']:,} | "
                  f"{sum(s['rejected'].values()):,} |" for s in data_card["sources"]]
        parts += ["", f"Train split: {splits['train']['docs']:,} documents, {splits['train']['chars']:,} characters. "
                  "Processing: " + "; ".join(data_card["step_descriptions"].values()) + ".", ""]
    if training_data:
        parts += _training_data_md(training_data, training_tokens or {}, training_phases)
    if tokenizer_report:
        parts += _tokenizer_md(tokenizer_report)
    if governance:
        parts += responsible_ai_md(governance)
    resolved = config if config is not None else cfg.to_dict()
    parts += ["## Training configuration", "", "```yaml",
              yaml.safe_dump({k: resolved[k] for k in ("model", "lora", "train")}, sort_keys=False,
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
