"""Benchmarks as YAML files (`configs/tasks/*.yaml`), in the manner of lm-evaluation-harness.

A task file names its data (`source`), how a document becomes a prompt (`prompt`, Jinja), the answer
choices or the reference (`choices`, `target`), few-shot examples, metrics and the language it scores.
`include: _base.yaml` merges a shared file first, so a benchmark with eight languages is one base file
and eight five-line files. Files whose name starts with `_` are includes, never tasks.

Jinja runs in an immutable sandbox with strict undefined variables: a template that names a missing
field fails with the task file, the key and the fields the document has. `target`, `filter` and
`group_by` are Jinja *expressions* (`answer`, `['1','2','3','4'].index(correct_answer_num)`,
`metadata.cultural_sensitivity_label`); `prompt` is a template; `choices` is a list of templates or
one expression that gives a list.
"""

from __future__ import annotations

import difflib
import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import TemplateError, Undefined
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lontar.errors import InvalidInput
from lontar import safe_yaml
from lontar.config import ConfigError
from lontar.eval import sandbox

REPO_TASKS = Path(__file__).resolve().parents[2] / "configs" / "tasks"

_ENV = sandbox.ENV


@lru_cache(maxsize=4096)
def _template(text: str) -> Any:
    return _ENV.from_string(text)


@lru_cache(maxsize=4096)
def _expression(text: str) -> Any:
    return _ENV.compile_expression(text, undefined_to_none=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """Where the documents come from: exactly one of `dataset`, `path` or `corpus`.

    - `dataset`: a hub id (or a local directory in the hub's layout) read with
      `datasets.load_dataset(dataset, config, split=split, revision=revision)`. `parallel` reads two
      configs of the same dataset and joins their rows on `join_on` (FLORES+): documents are then
      `{"src": row, "tgt": row}`.
    - `path`: local jsonl / json / parquet / csv files (a glob; `{name}` is replaced from `eval.data_dirs`),
      in the format the file name implies or the one `format` declares (a JSON Lines file named `.json`).
    - `corpus`: this run's own corpus split (`validation`), filtered to the task's language unless it is `*`.

    A task that includes another and names a different location (`path` where the include has
    `dataset`) replaces the included source whole: hub keys (config, split) mean nothing for a file.
    """

    dataset: str | None = None
    config: str | None = None
    split: str = "test"
    revision: str | None = None
    parallel: dict[str, str] | None = None  # {"src": "eng_Latn", "tgt": "khm_Khmr"}
    join_on: str = "id"
    path: str | None = None
    format: Literal["jsonl", "json", "csv", "tsv", "parquet"] | None = None
    corpus: Literal["validation", "train"] | None = None

    @model_validator(mode="after")
    def _one_location(self) -> "SourceSpec":
        given = [k for k in ("dataset", "path", "corpus") if getattr(self, k)]
        if len(given) != 1:
            raise InvalidInput(f"give exactly one of 'dataset', 'path' or 'corpus' (got {given or 'none'})")
        if self.parallel is not None and (not self.dataset or set(self.parallel) != {"src", "tgt"}):
            raise InvalidInput("'parallel' needs a 'dataset' and exactly the keys 'src' and 'tgt' (configs to join)")
        if self.format is not None and not self.path:
            raise InvalidInput("'format' is for local files ('path'); a dataset folder's README names its files")
        return self

    @property
    def label(self) -> str:
        if self.corpus:
            return f"corpus:{self.corpus}"
        if self.path:
            return self.path
        cfg = "+".join(self.parallel.values()) if self.parallel else (self.config or "")
        return f"{self.dataset}" + (f"/{cfg}" if cfg else "") + f"[{self.split}]"


class FewshotSpec(_Strict):
    k: int = Field(0, ge=0)
    # Default: the task's own source (the current item is never its own example); `split` takes the
    # same source with another split (e.g. dev); `source` gives another source altogether.
    split: str | None = None
    source: SourceSpec | None = None
    sampler: Literal["first_n", "random"] = "first_n"
    delimiter: str = "\n\n"
    seed: int = 1234


class SeahelmPrompt(_Strict):
    """Prompt templates read from a SEA-HELM `config.yaml` (`preamble`, `task_template`,
    `answer_template`, `answer_tag` per language), assembled the way SEA-HELM does: the preamble opens
    the first user turn and each few-shot example is a user turn and an assistant answer."""

    config: str
    task: str


class IfevalSpec(_Strict):
    """Where an instruction-following item keeps its checks (Jinja expressions over the document):
    IFEval's instruction ids and their arguments, one dict per id (`lontar.eval.ifeval`)."""

    ids: str = "instruction_id_list"
    kwargs: str = "kwargs"


class GenerationSpec(_Strict):
    max_new_tokens: int = Field(128, gt=0)
    stop: list[str] = Field(default_factory=lambda: ["\n"])


OUTPUTS = ("multiple_choice", "generate", "bpb")
MC_METRICS = {"acc", "acc_norm"}
IFEVAL_METRICS = {"ifeval_prompt", "ifeval_instruction", "ifeval_prompt_loose", "ifeval_instruction_loose"}
GEN_METRICS = {"exact_match", "f1", "chrf", "chrf_syllables", "bleu", "bleu_syllables", "refusal_rate", *IFEVAL_METRICS}
BPB_METRICS = {"bits_per_byte", "bits_per_char"}


# Task and benchmark names become file names (eval/cache/<ckpt>/<task>.json, plots/<benchmark>.png):
# no separators, no leading dot, so a task file cannot write outside the run.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


class Task(_Strict):
    task: str = Field(pattern=NAME_PATTERN)
    benchmark: str = Field(pattern=NAME_PATTERN)
    lang: str  # the language scored (lontar.langs code); '*' for a multilingual corpus, split per document
    output: Literal["multiple_choice", "generate", "bpb"]
    source: SourceSpec
    # "safety": safe/harmful classification (multiple choice) or refusal on harmful prompts (generate,
    # metric refusal_rate over `refusal_markers`); its rows are typed "safety" for the responsible-AI record.
    kind: Literal["general", "safety"] = "general"
    refusal_markers: list[str] = Field(default_factory=list)
    description: str = ""
    prompt: str | None = None  # Jinja template: the context (multiple choice, generation)
    seahelm_prompt: SeahelmPrompt | None = None
    text: str = "{{ text }}"  # bpb: the document text
    choices: list[str] | str | None = None
    target: str | None = None
    target_delimiter: str = " "
    fewshot: FewshotSpec = Field(default_factory=FewshotSpec)
    filter: str | None = None
    group_by: str | None = None
    metrics: list[str] = Field(default_factory=list)
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    ifeval: IfevalSpec = Field(default_factory=IfevalSpec)
    limit: int | None = Field(None, gt=0)
    file: str = ""  # where it was read from (set by the loader, for error messages)
    includes: list[str] = Field(default_factory=list)  # the files it includes, all levels (set by the loader)

    @model_validator(mode="after")
    def _consistent(self) -> "Task":
        from lontar.langs import EVAL_LANGS

        if self.lang != "*" and self.lang not in EVAL_LANGS:
            raise InvalidInput(f"lang: unknown language '{self.lang}' (known: {', '.join(EVAL_LANGS)}, or '*')")
        allowed = {"multiple_choice": MC_METRICS, "generate": GEN_METRICS, "bpb": BPB_METRICS}[self.output]
        bad = [m for m in self.metrics if m not in allowed]
        if bad:
            raise InvalidInput(f"metrics: {bad} do not apply to output '{self.output}' (allowed: {sorted(allowed)})")
        if self.output != "bpb":
            if (self.prompt is None) == (self.seahelm_prompt is None):
                raise InvalidInput("give exactly one of 'prompt' (Jinja) or 'seahelm_prompt'")
            if self.target is None:
                raise InvalidInput(f"'target' is required for output '{self.output}'")
        if "refusal_rate" in self.metrics and not self.refusal_markers:
            raise InvalidInput("metric refusal_rate needs 'refusal_markers' (phrases of a refusal in the task's language)")
        if self.output == "multiple_choice" and not self.choices:
            raise InvalidInput("'choices' is required for output 'multiple_choice'")
        if self.fewshot.split and self.fewshot.source:
            raise InvalidInput("fewshot: give 'split' or 'source', not both")
        if self.source.corpus and self.output != "bpb":
            raise InvalidInput("source 'corpus' is for output 'bpb'")
        return self

    @property
    def default_metrics(self) -> list[str]:
        if self.metrics:
            return list(self.metrics)
        return {"multiple_choice": ["acc", "acc_norm"], "generate": ["exact_match", "f1"],
                "bpb": ["bits_per_byte", "bits_per_char"]}[self.output]

    # ------------------------------------------------------------------ Jinja

    def _where(self, key: str) -> str:
        return f"{self.file or self.task}: {key}"

    @property
    def _compiled(self) -> dict[str, Any]:
        """Templates and expressions (compiled once per text, so copies of a task never go stale);
        a syntax error names the file and the key."""
        out: dict[str, Any] = {}

        def template(key: str, text: str) -> Any:
            try:
                return _template(text)
            except TemplateError as e:
                raise ConfigError(f"{self._where(key)}: bad Jinja template: {e}") from None

        def expression(key: str, text: str) -> Any:
            try:
                return _expression(text)
            except TemplateError as e:
                raise ConfigError(f"{self._where(key)}: bad Jinja expression {text!r}: {e}") from None

        if self.prompt is not None:
            out["prompt"] = template("prompt", self.prompt)
        out["text"] = template("text", self.text)
        if isinstance(self.choices, list):
            out["choices"] = [template(f"choices[{i}]", c) for i, c in enumerate(self.choices)]
        elif isinstance(self.choices, str):
            out["choices"] = expression("choices", self.choices)
        for key in ("target", "filter", "group_by"):
            if getattr(self, key) is not None:
                out[key] = expression(key, getattr(self, key))
        if IFEVAL_METRICS & set(self.metrics):
            out["ifeval.ids"] = expression("ifeval.ids", self.ifeval.ids)
            out["ifeval.kwargs"] = expression("ifeval.kwargs", self.ifeval.kwargs)
        return out

    def check(self) -> None:
        """Compile every template now (config time), so a bad file fails before any model loads."""
        _ = self._compiled

    def _run(self, key: str, fn: Any, doc: dict[str, Any]) -> Any:
        try:
            value = sandbox.render(fn, doc) if hasattr(fn, "render") else sandbox.evaluate(fn, doc)
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            return value
        except TemplateError as e:
            fields = ", ".join(sorted(doc)) if isinstance(doc, dict) else type(doc).__name__
            raise ConfigError(f"{self._where(key)}: {e} (document fields: {fields})") from None

    def render_prompt(self, doc: dict[str, Any]) -> str:
        return self._run("prompt", self._compiled["prompt"], doc)

    def render_text(self, doc: dict[str, Any]) -> str:
        return self._run("text", self._compiled["text"], doc)

    def render_choices(self, doc: dict[str, Any]) -> list[str]:
        c = self._compiled["choices"]
        if isinstance(c, list):
            return [self._run(f"choices[{i}]", t, doc) for i, t in enumerate(c)]
        value = self._run("choices", c, doc)
        if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
            raise ConfigError(f"{self._where('choices')}: the expression must give a list of strings, got {value!r}")
        return list(value)

    def target_index(self, doc: dict[str, Any], choices: list[str]) -> int:
        value = self._run("target", self._compiled["target"], doc)
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int):
            if not 0 <= value < len(choices):
                raise ConfigError(f"{self._where('target')}: index {value} outside the {len(choices)} choices")
            return value
        if isinstance(value, str):
            if value in choices:
                return choices.index(value)
            if value.strip().isdigit() and 0 <= int(value) < len(choices):
                return int(value)
        raise ConfigError(f"{self._where('target')}: {value!r} is neither a choice index nor one of {choices}")

    def target_texts(self, doc: dict[str, Any]) -> list[str]:
        """Every reference answer: `target` may give one string or a list (TyDiQA, XQuAD: several
        annotators); generation metrics score against all of them."""
        value = self._run("target", self._compiled["target"], doc)
        if isinstance(value, dict) and isinstance(value.get("text"), (list, tuple)):  # SQuAD's {text, answer_start}
            value = value["text"]
        refs = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        refs = list(dict.fromkeys(refs))
        if not refs:
            raise ConfigError(f"{self._where('target')}: no reference answer (an empty list)")
        return refs

    def target_text(self, doc: dict[str, Any]) -> str:
        """The first reference: what a few-shot example shows as its answer."""
        return self.target_texts(doc)[0]

    def prompt_spec(self) -> dict[str, Any]:
        """Everything that shapes a prompt and its answers, after `include:` (hashed for provenance)."""
        keys = ("description", "prompt", "seahelm_prompt", "text", "choices", "target", "target_delimiter",
                "fewshot", "generation")
        return self.model_dump(mode="json", include=set(keys))

    def instructions(self, doc: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
        """An instruction-following item's checks: IFEval instruction ids and one kwargs dict each."""
        ids = self._run("ifeval.ids", self._compiled["ifeval.ids"], doc)
        kwargs = self._run("ifeval.kwargs", self._compiled["ifeval.kwargs"], doc)
        if isinstance(kwargs, str):  # some copies store the list as a JSON string
            import json

            kwargs = json.loads(kwargs)
        if not isinstance(ids, (list, tuple)) or not isinstance(kwargs, (list, tuple)):
            raise ConfigError(f"{self._where('ifeval')}: ids and kwargs must give lists, got {ids!r} and {kwargs!r}")
        return [str(i) for i in ids], [dict(k or {}) for k in kwargs]

    def keep(self, doc: dict[str, Any]) -> bool:
        return True if self.filter is None else bool(self._run("filter", self._compiled["filter"], doc))

    def group(self, doc: dict[str, Any]) -> str | None:
        if self.group_by is None:
            return None
        value = self._run("group_by", self._compiled["group_by"], doc)
        return None if value is None or value == "" else str(value)


# ---------------------------------------------------------------------- loading


_LOCATIONS = ("dataset", "path", "corpus")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not _relocates(out[key], value):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _relocates(base: dict[str, Any], over: dict[str, Any]) -> bool:
    """A source that names another kind of location (`path` over `dataset`) replaces the old one whole."""
    given = {k for k in _LOCATIONS if over.get(k)}
    return bool(given) and not given & {k for k in _LOCATIONS if base.get(k)}


def _read_tree(path: Path, seen: tuple[Path, ...] = (), read: list[Path] | None = None) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{seen[-1]}: include cycle through {path}")
    if not path.is_file():
        where = f"{seen[-1]}: include: " if seen else ""
        raise ConfigError(f"{where}task file not found: {path}")
    data = safe_yaml.load_file(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a task file must be a mapping of keys")
    if read is not None:
        read.append(path)
    includes = data.pop("include", None) or []
    merged: dict[str, Any] = {}
    for inc in [includes] if isinstance(includes, str) else includes:
        merged = _merge(merged, _read_tree(path.parent / inc, seen + (path,), read))
    return _merge(merged, data)


def load_task(path: str | Path) -> Task:
    """Read one task file (with its includes) and validate it; errors name the file and the key."""
    path = Path(path)
    read: list[Path] = []
    data = _read_tree(path, read=read)
    data.setdefault("task", path.stem)
    data["file"] = _display(path)
    data["includes"] = [_display(p) for p in dict.fromkeys(read[1:])]
    try:
        task = Task.model_validate(data)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = sorted(Task.model_fields)
            close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            msg = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
        raise ConfigError(f"{_display(path)}: {key + ': ' if key else ''}{msg}") from None
    task.check()
    return task


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def tasks_dir(configured: str | None = None) -> Path:
    """The configured folder (a run config anchors `eval.tasks_dir` to the config file's folder), else
    the shipped tasks: never whatever `configs/tasks` the working directory happens to hold."""
    return Path(configured) if configured else REPO_TASKS


def task_files(directory: Path) -> dict[str, Path]:
    """Task name (the file stem) -> file, for every task file under `directory` (includes excluded)."""
    return {p.stem: p for p in sorted(directory.rglob("*.yaml")) if not p.name.startswith("_")}


def resolve_tasks(names: list[str], directory: Path) -> list[Task]:
    """Task names, globs (`belebele_*`) or paths to YAML files, in order, without repeats."""
    known = task_files(directory) if directory.is_dir() else {}
    files: list[Path] = []
    for name in names:
        if name.endswith((".yaml", ".yml")) or "/" in name:
            files.append(Path(name))
            continue
        hits = [p for n, p in known.items() if fnmatch.fnmatchcase(n, name)]
        if not hits:
            close = difflib.get_close_matches(name, list(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f" (tasks live in {directory})"
            raise ConfigError(f"eval.tasks: unknown task '{name}'{hint}")
        files.extend(hits)
    return [load_task(p) for p in dict.fromkeys(files)]
