"""The run config: one YAML file, validated before any work starts.

A config may `extends:` other files (paths relative to the extending file) and the command line may
override keys (`--set train.lr=2e-4`; a path given there is relative to the working directory). Data
paths in a file (sources, task data folders, tokenizers) are relative to the file that names them, so a
command works from any directory; `output_dir` stays relative to the working directory. Every leaf
remembers which file (or `--set`) gave it, so an error names the exact key and the file it came from, in one line.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_serializer, model_validator

from lontar import safe_yaml
from lontar.errors import ConfigError  # re-exported: callers import it from here too
from lontar.records import expand_glob


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


FILE_SOURCES = ("text", "jsonl", "json", "csv", "parquet", "wikipedia")


class SourceConfig(_Strict):
    """One corpus source.

    `rdlab`: the packaged Khmer sentences (PyPI rdlab-dataset). File types take `path` (a file or glob;
    .gz/.bz2/.xz/.zst decompressed): `text` (a document per line), `jsonl`, `json`, `csv`/.tsv,
    `parquet`, `wikipedia` (a MediaWiki XML dump). `hf`: a Hugging Face dataset by hub id or local
    directory (`dataset`, `config`, `split`, `revision`), streamed.
    """

    type: Literal["rdlab", "text", "jsonl", "json", "csv", "parquet", "wikipedia", "hf"]
    path: str | None = None
    dataset: str | None = None
    config: str | None = None
    split: str = "train"
    revision: str | None = None
    streaming: bool = True
    text_field: str = "text"  # a dotted path into each record (`prompts.0.question`), see lontar.fields
    # Required: set here or once at `corpus.lang`; an `rdlab` source is Khmer.
    lang: str | None = None
    weight: float = Field(1.0, gt=0)
    max_docs: int | None = Field(None, gt=0)
    name: str | None = None
    # Provenance for the data card and the responsible-AI record. `hf` sources must declare a licence.
    license: str | None = None  # an SPDX id where one exists ("cc-by-sa-4.0"), else the licence's name
    origin: str | None = None  # URL or hub id the data came from
    collected: str | None = None  # when it was collected (e.g. "2026-11-01")
    notes: str | None = None  # usage conditions, consent, known issues

    @model_validator(mode="before")
    @classmethod
    def _rdlab_is_khmer(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") == "rdlab" and data.get("lang") is None:
            return {**data, "lang": "km"}
        return data

    @model_validator(mode="after")
    def _location_needed(self) -> "SourceConfig":
        from lontar.langs import LANGS

        if self.lang is not None and self.lang not in LANGS:
            raise ValueError(f"unknown lang '{self.lang}' (known: {', '.join(LANGS)})")
        if self.type in FILE_SOURCES and not self.path:
            raise ValueError(f"source type '{self.type}' needs a 'path' (file or glob)")
        if self.type == "hf" and not self.dataset:
            raise ValueError("source type 'hf' needs a 'dataset' (hub id or local directory)")
        if self.type == "hf" and not self.license:
            raise ValueError(f"hub source '{self.dataset}' must declare its 'license' (see the dataset's card)")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.type == "rdlab":
            return "rdlab"
        if self.type == "hf":
            return f"hf:{self.dataset}" + (f"/{self.config}" if self.config else "") + f"[{self.split}]"
        return f"{self.type}:{self.path}"


class QualityThresholds(_Strict):
    """Gopher / C4 / FineWeb style thresholds, in the language's unit (`lontar.langs`: words,
    syllables or characters). The values here are Gopher's English ones; each language's defaults
    restate them in its unit."""

    min_units: int = Field(3, ge=0)
    max_units: int | None = Field(100_000, gt=0)
    min_mean_unit_chars: float = Field(2.0, ge=0)
    max_mean_unit_chars: float = Field(10.0, gt=0)
    max_symbol_ratio: float = Field(0.1, ge=0)
    max_digit_ratio: float = Field(0.5, ge=0, le=1)
    min_alpha_unit_ratio: float = Field(0.6, ge=0, le=1)
    max_bullet_line_frac: float = Field(0.9, ge=0, le=1)
    max_ellipsis_line_frac: float = Field(0.3, ge=0, le=1)
    max_dup_line_frac: float = Field(0.3, ge=0, le=1)
    max_dup_line_char_frac: float = Field(0.2, ge=0, le=1)
    max_dup_para_frac: float = Field(0.3, ge=0, le=1)
    min_terminal_line_frac: float = Field(0.0, ge=0, le=1)  # C4-style; 0 turns it off
    short_line_chars: int = Field(30, ge=0)
    max_short_line_frac: float = Field(1.0, ge=0, le=1)  # FineWeb uses 0.67 on web pages; 1 turns it off
    min_units_for_repetition: int = Field(50, ge=0)  # n-gram repetition is only meaningful on longer documents
    max_top_ngram_frac: dict[int, float] = Field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    max_dup_ngram_frac: dict[int, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10})
    min_stop_words: int = Field(0, ge=0)  # Gopher uses 2 on web pages; counted where a list exists


QualityOverride = create_model(  # every threshold optional: unset keys inherit
    "QualityOverride", __base__=_Strict,
    **{name: (field.annotation | None, None) for name, field in QualityThresholds.model_fields.items()})


class QualityConfig(_Strict):
    enabled: bool = True
    default: QualityOverride = Field(default_factory=QualityOverride)  # type: ignore[valid-type]
    langs: dict[str, QualityOverride] = Field(default_factory=dict)  # type: ignore[valid-type]

    def for_lang(self, lang: str) -> QualityThresholds:
        """The language's defaults from the registry (Gopher's thresholds restated in its unit, see
        `lontar.langs.Lang.quality_defaults`), then `default`, then `langs[lang]`."""
        from lontar.langs import get_lang

        values = get_lang(lang).quality_defaults()
        for override in (self.default, self.langs.get(lang)):
            if override is not None:
                values.update(override.model_dump(exclude_none=True))
        return QualityThresholds(**values)


class LidConfig(_Strict):
    """Language ID: documents not identified as their source's `lang` with enough confidence are set aside."""

    enabled: bool = True
    threshold: float = Field(0.5, ge=0, le=1)
    thresholds: dict[str, float] = Field(default_factory=dict)  # per language, e.g. {vi: 0.8}
    # Other languages accepted for a source's lang; unset languages take the registry's
    # `lid_also_accept` (Indonesian and Malay accept each other).
    also_accept: dict[str, list[str]] = Field(default_factory=dict)


class PiiConfig(_Strict):
    """E-mail, phone numbers (SEA formats), IP addresses, ID-like numbers and URLs become placeholders."""

    enabled: bool = True


class DecontamSource(_Strict):
    """An evaluation set to protect: jsonl files (glob) and the fields that hold its text."""

    path: str
    lang: str
    text_fields: list[str] = Field(default_factory=lambda: ["text"])  # dotted paths, e.g. prompts.0.question

    @model_validator(mode="after")
    def _known_lang(self) -> "DecontamSource":
        from lontar.langs import LANGS

        if self.lang not in LANGS:
            raise ValueError(f"unknown lang '{self.lang}' (known: {', '.join(LANGS)})")
        return self


class DecontamConfig(_Strict):
    enabled: bool = False
    n: int = Field(13, ge=2)  # units: syllables for km, lo, th, my; words otherwise
    action: Literal["remove", "flag"] = "remove"
    sources: list[DecontamSource] = Field(default_factory=list)


class NearDedupConfig(_Strict):
    """MinHash LSH near-dedup (`lontar.corpus.minhash`); union-find clusters, the first document of a cluster kept.

    `unit`: "char" (the default, every language: character shingles of the text without spaces or
    punctuation survive typos, which break every word shingle they touch, and need no segmenter),
    "auto" (characters for languages without spaces, km, lo, th, my, zh; words otherwise), or
    "syllable" (the registry's unit: syllables, Han characters; words otherwise). `threshold`: a candidate pair is linked only if its estimated
    Jaccard similarity over the whole signature reaches it (0 links every candidate).
    """

    enabled: bool = False
    unit: Literal["auto", "char", "syllable"] = "char"
    shingle: int = Field(5, ge=1)  # units per shingle
    bands: int = Field(28, ge=1)  # 28 x 4: P(candidate) 0.84 at Jaccard 0.5, 0.98 at 0.6
    rows: int = Field(4, ge=1)
    threshold: float = Field(0.5, ge=0, le=1)
    seed: int = 0
    # FineWeb-2's rehydration: each kept train document repeated by the size of its duplicate cluster
    # (1 alone; 2-3: that many; 4: 3; 5-99: 5; 100-999: 8; 1000+: 1), counted in the card.
    rehydrate: bool = False


class JunkConfig(_Strict):
    """Markup, link runs, menus, banners and navigation removed line by line (`lontar.corpus.junk`);
    a document losing more than `max_removed_char_frac` of its characters to it is set aside."""

    enabled: bool = True
    max_removed_char_frac: float = Field(0.7, ge=0, le=1)


class BoilerplateConfig(_Strict):
    """Lines found in at least `min_docs` multi-line documents are removed (headers, footers, menus)."""

    enabled: bool = False
    min_docs: int = Field(3, ge=2)
    min_line_chars: int = Field(10, ge=1)  # shorter lines ("។", "---") are never counted


class MixingConfig(_Strict):
    """Temperature sampling of the train split: p proportional to weight * chars**alpha per language or source."""

    enabled: bool = False
    by: Literal["lang", "source"] = "lang"
    alpha: float = Field(0.3, gt=0, le=1)  # 1 keeps the natural mix; XLM-R and mT5 use 0.3
    cap: float = Field(4.0, gt=0)  # most copies of any document on average (upsampling cap)
    total_chars: int | None = Field(None, gt=0)  # size of the mixture; default the natural total
    seed: int = 0
    # Token counts for the card: a tokenizer directory, tokenizer.json, SentencePiece .model, or hub id.
    tokenizer: str | None = None


class CorpusConfig(_Strict):
    """`lang`: the language of every source that does not set its own (each source needs one).
    `max_reject_fraction`: a source with more of its documents set aside than this fails the stage
    (after the data card is written), naming the source and its top reason."""

    executor: Literal["local", "ray"] = "local"
    lang: str | None = None
    max_reject_fraction: float = Field(0.5, ge=0, le=1)
    # Raw bytes a rejected record keeps in rejected/ (text, or base64 when not UTF-8); beyond, a sha256.
    reject_raw_bytes: int = Field(65536, ge=0)
    ray_address: str | None = None  # e.g. "auto" or "ray://head:10001"; default RAY_ADDRESS, else a local Ray
    sources: list[SourceConfig] = Field(default_factory=lambda: [SourceConfig(type="rdlab")])
    validation_fraction: float = Field(0.01, gt=0, lt=1)
    min_chars: int = Field(1, ge=1)
    shard_docs: int = Field(100_000, gt=0)
    chunk_docs: int = Field(50_000, gt=0)  # unit of work and of resume
    num_proc: int = Field(2, ge=1)
    # Hash partitions of the global steps (boilerplate counts, exact and near dedup): each is one task, so
    # more partitions mean less memory per task; the corpus is the same for any number.
    partitions: int = Field(8, ge=1, le=4096)
    normalize: bool = True  # NFC everywhere, then the language's own normalizer (lontar.langs)
    khmer_coeng_da_to_ta: bool = True  # merge subscript DA into TA as SIL's khnormal does (README: Khmer normalization)
    junk: JunkConfig = Field(default_factory=JunkConfig)
    lid: LidConfig = Field(default_factory=LidConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    decontaminate: DecontamConfig = Field(default_factory=DecontamConfig)
    near_dedup: NearDedupConfig = Field(default_factory=NearDedupConfig)
    boilerplate: BoilerplateConfig = Field(default_factory=BoilerplateConfig)
    mixing: MixingConfig = Field(default_factory=MixingConfig)
    # Licences a source may carry; any other (or an unknown one) is refused before any work. None: no check.
    license_allowlist: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _sources_take_corpus_lang(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("lang") is None or not isinstance(data.get("sources"), list):
            return data
        sources = [({**s, "lang": data["lang"]} if isinstance(s, dict) and s.get("lang") is None else s)
                   for s in data["sources"]]
        return {**data, "sources": sources}

    @model_validator(mode="after")
    def _every_source_has_a_lang(self) -> "CorpusConfig":
        from lontar.langs import LANGS

        if self.lang is not None and self.lang not in LANGS:
            raise ValueError(f"unknown lang '{self.lang}' (known: {', '.join(LANGS)})")
        for i, src in enumerate(self.sources):
            if src.lang is None:
                raise ValueError(f"sources[{i}] ({src.label}) has no 'lang': set it on the source or once at "
                                 f"corpus.lang (known: {', '.join(LANGS)})")
        return self

    @model_validator(mode="after")
    def _licenses_allowed(self) -> "CorpusConfig":
        if self.license_allowlist is None:
            return self
        from lontar.corpus.provenance import license_allowed, source_license

        for i, src in enumerate(self.sources):
            lic = source_license(src)
            if not license_allowed(lic, self.license_allowlist):
                raise ValueError(f"sources[{i}] ({src.label}) has licence '{lic}', which is not in license_allowlist "
                                 f"{self.license_allowlist}")
        return self

    @model_validator(mode="after")
    def _labels_unique_when_mixing(self) -> "CorpusConfig":
        labels = [s.label for s in self.sources]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if self.mixing.enabled and twice:
            raise ValueError(f"mixing needs distinct source names; give 'name' to the sources labelled {twice}")
        return self


def _global_mmlu_langs() -> tuple[str, ...]:
    from lontar.langs import GLOBAL_MMLU_LANGS

    return GLOBAL_MMLU_LANGS


class ParallelTextConfig(_Strict):
    """One set of the same content in several languages, for parity against a reference language.

    Layouts (`format`, "auto" tells them apart): `jsonl`: `path` holds `{lang}`, e.g.
    `data/global_mmlu_lite_{lang}_test.jsonl`, and `text_fields` are dotted paths into each record
    (`prompts.0.question`), joined by newlines into one text per record, the files aligned record by
    record; `text`: `path` holds `{lang}`, plain text files aligned line by line (line i of every file is
    the same paragraph); `hf`: a Hugging Face `dataset` (hub id or local directory) with one `config` per
    language (`{flores}`, `{lang}` or `{iso3}` filled in, FLORES+ style `khm_Khmr` by default), rows
    aligned by their `id` field where they have one, else by order.
    """

    name: str | None = None  # default "parallel" (one set) or "parallel_<i>" (a list)
    format: Literal["auto", "jsonl", "text", "hf"] = "auto"
    path: str | None = None
    dataset: str | None = None
    config: str = "{flores}"
    split: str = "devtest"
    revision: str | None = None
    license: str | None = None  # of the text (for the report's readers); FLORES+ is cc-by-sa-4.0
    origin: str | None = None
    langs: list[str] = Field(default_factory=lambda: list(_global_mmlu_langs()))
    text_fields: list[str] = Field(default_factory=lambda: ["text"])
    reference: str = "en"
    max_records: int | None = Field(None, gt=0)

    @property
    def kind(self) -> str:
        if self.format != "auto":
            return self.format
        if self.dataset:
            return "hf"
        return "text" if (self.path or "").endswith(".txt") else "jsonl"

    @model_validator(mode="after")
    def _valid(self) -> "ParallelTextConfig":
        from lontar.langs import LANGS

        if self.path and self.dataset:
            raise ValueError("give 'path' (local files) or 'dataset' (hub id or dataset directory), not both")
        if self.kind == "hf" and not self.dataset:
            raise ValueError("format 'hf' needs a 'dataset' (hub id or dataset directory)")
        if self.kind != "hf" and (not self.path or "{lang}" not in self.path):
            raise ValueError("'path' must contain '{lang}'")
        unknown = [x for x in [*self.langs, self.reference] if x not in LANGS]
        if unknown:
            raise ValueError(f"unknown langs {unknown} (known: {', '.join(LANGS)})")
        if self.reference not in self.langs:
            raise ValueError(f"'reference' ({self.reference}) must be one of 'langs'")
        return self


class TokenizerReportConfig(_Strict):
    """What `tokenizer_report.json/.md/.png` compares: base, extended and from-scratch tokenizers.

    `parallel`: one parallel set or a list of them (each its own files or data set, languages,
    reference and `name`); the report gives tokens per character, per English-word equivalent and
    parity against the set's reference for every language of every set."""

    max_docs: int = Field(2000, gt=0)  # validation documents per language
    scratch: bool = True  # in extend mode, also train the from-scratch tokenizer to compare with
    parallel: list[ParallelTextConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_set_is_a_list_of_one(cls, data: Any) -> Any:
        """The single-set form (a mapping) reads as a list of one set; null as none."""
        if isinstance(data, dict) and (isinstance(data.get("parallel"), dict) or data.get("parallel", []) is None):
            data = {**data, "parallel": [data["parallel"]] if data["parallel"] is not None else []}
        return data

    @model_validator(mode="after")
    def _set_names(self) -> "TokenizerReportConfig":
        names = [s.name for s in self.parallel_sets()]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"parallel: set names must be unique ({', '.join(str(n) for n in twice)} repeated)")
        return self

    def parallel_sets(self) -> list[ParallelTextConfig]:
        """The sets, each named (one unnamed set is "parallel", unnamed sets of a list "parallel_<i>")."""
        if len(self.parallel) == 1 and not self.parallel[0].name:
            return [self.parallel[0].model_copy(update={"name": "parallel"})]
        return [s if s.name else s.model_copy(update={"name": f"parallel_{i}"}) for i, s in enumerate(self.parallel)]


class TokenizerConfig(_Strict):
    """`mode: scratch` trains SentencePiece on the corpus; `mode: extend` adds corpus pieces to `base`.

    `base`: a SentencePiece `tokenizer.model` (Llama-2 / Mistral family), a byte-level BPE
    `tokenizer.json`, a Mistral `tekken*.json`, a tokenizer folder or a hub id. Existing ids never
    change; new ids follow them, and `tokenizer/new_tokens.json` records them for the train stage.
    """

    mode: Literal["scratch", "extend"] = "scratch"
    base: str | None = None  # required by mode extend; in mode scratch only compared in the report
    base_revision: str | None = None
    max_new_pieces: int = Field(16000, gt=0)
    allow_ascii_pieces: bool = False  # ASCII-only new pieces could change how English tokenizes
    embedding_init: Literal["mean", "focus"] = "mean"
    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = Field(8000, ge=100)
    character_coverage: float = Field(0.9999, gt=0, le=1)
    script_coverage: dict[str, float] = Field(default_factory=dict)  # per ISO 15924 script, e.g. {Hans: 0.9995}
    lang_alpha: float = Field(1.0, ge=0, le=1)  # sampling p ~ chars**alpha per language; 1 keeps the corpus mix
    byte_fallback: bool = True
    split_digits: bool = True
    input_sentence_size: int = Field(0, ge=0)
    user_defined_symbols: list[str] = Field(default_factory=list)
    special_tokens: list[str] = Field(default_factory=list)  # control tokens, e.g. <|im_start|>
    chat_template: str = DEFAULT_CHAT_TEMPLATE
    model_max_length: int = Field(2048, gt=0)
    report: TokenizerReportConfig = Field(default_factory=TokenizerReportConfig)

    @model_validator(mode="after")
    def _consistent(self) -> "TokenizerConfig":
        from lontar.langs import LANGS

        if self.mode == "extend" and not self.base:
            raise ValueError("'base' is required when mode is 'extend' (a tokenizer.model, tokenizer.json, "
                             "tekken json, tokenizer folder or hub id)")
        scripts = sorted({lang.script for lang in LANGS.values()})
        for script, value in self.script_coverage.items():
            if script not in scripts:
                raise ValueError(f"script_coverage: unknown script '{script}' (known: {', '.join(scripts)})")
            if not 0 < value <= 1:
                raise ValueError(f"script_coverage.{script}: must be in (0, 1], got {value}")
        both = sorted(set(self.special_tokens) & set(self.user_defined_symbols))
        if both:
            raise ValueError(f"{both} listed in both 'special_tokens' and 'user_defined_symbols'")
        return self


class ModelConfig(_Strict):
    """Either a pretrained model (`name_or_path`: hub id, local dir, or a `.gguf` file: local or
    `org/repo/file.gguf`) or `architecture` (random init)."""

    name_or_path: str | None = None
    revision: str | None = None
    # The base's id on the hub ("org/name") when `name_or_path` is a local folder or GGUF file: the card,
    # its `base_model` metadata and the published adapter_config.json name this, never a machine path.
    hub_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
    architecture: dict[str, Any] | None = None
    tokenizer: str = "run"  # "run": the tokenizer this run trained; "base": the model's own; or a path
    dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"
    # "auto": flash_attention_2 where flash-attn is installed and a GPU runs bf16/fp16, else sdpa; or any
    # transformers name (sdpa, eager, flash_attention_2, ...).
    attn_implementation: str = "auto"
    trust_remote_code: bool = False
    gradient_checkpointing: bool = False
    load_in_4bit: bool = False  # QLoRA: the frozen base in 4-bit NF4 (bitsandbytes, CUDA only)

    @model_validator(mode="after")
    def _one_source(self) -> "ModelConfig":
        if (self.name_or_path is None) == (self.architecture is None):
            raise ValueError("give exactly one of 'name_or_path' (pretrained) or 'architecture' (random init)")
        if self.architecture is not None and "model_type" not in self.architecture:
            raise ValueError("'architecture' needs a 'model_type' (e.g. llama, qwen2)")
        if self.architecture is not None and self.tokenizer == "base":
            raise ValueError("tokenizer 'base' needs a pretrained 'name_or_path'")
        if self.architecture is not None and self.hub_id is not None:
            raise ValueError("'hub_id' names a pretrained base on the hub; a random-init 'architecture' has none")
        return self


class LoraSectionConfig(_Strict):
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"
    modules_to_save: list[str] = Field(default_factory=list)
    use_rslora: bool = False
    use_dora: bool = False
    train_embeddings: bool = False  # train the input and output embeddings in full (added to modules_to_save)


class TrainDatasetConfig(_Strict):
    """One training data set; all of them are mixed by `weight` (a share of the training tokens).

    `corpus`: documents for continued pre-training: the run's corpus shards (their sources drawn in
    the shares the data card records), or `path` (a folder of `train-*.parquet` shards, or
    .parquet/.jsonl/.txt files, a glob) with `text_field`.
    `chat`: instruction tuning from jsonl (`path`, a file or glob) or a Hugging Face dataset (`dataset`:
    hub id or local directory, with `config`, `split`, `revision`, and its `license` declared):
    `messages` records ([{role, content}, ...]), `sharegpt` records (`conversations`: [{from, value}, ...])
    or alpaca records (instruction, input, output), rendered with `train.chat_template`; `columns` maps
    those keys to a data set's own columns (`{instruction: inputs, output: targets}` for Aya; dotted
    paths, or a list of them joined by newlines, for nested records). The
    loss covers the assistant replies only. A record that does not fit is set aside with its reason.
    """

    type: Literal["corpus", "chat"] = "corpus"
    path: str | None = None
    dataset: str | None = None  # chat only: a hub id or a local dataset directory
    config: str | None = None
    split: str = "train"
    revision: str | None = None
    license: str | None = None  # required with `dataset`: the card states it
    origin: str | None = None
    notes: str | None = None  # what the card should say of it (a stand-in, usage conditions, known issues)
    # lontar's record key -> the data set's column (or dotted path, or a list of them joined by newlines)
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    format: Literal["auto", "messages", "sharegpt", "alpaca"] = "auto"
    text_field: str = "text"
    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    max_docs: int | None = Field(None, gt=0)
    name: str | None = None
    lang: str | None = None  # language of a `path` dataset without a `lang` column, for the per-language log

    @model_validator(mode="after")
    def _path_for_chat(self) -> "TrainDatasetConfig":
        from lontar.langs import LANGS

        if self.type == "chat" and not (self.path or self.dataset):
            raise ValueError("a 'chat' dataset needs a 'path' (jsonl file or glob) or a hub 'dataset'")
        if self.path and self.dataset:
            raise ValueError("give one of 'path' (local jsonl) or 'dataset' (hub id or dataset directory), not both")
        if self.dataset and self.type != "chat":
            raise ValueError("a hub 'dataset' is read for 'chat' data; corpus text comes through the corpus stage "
                             "(corpus.sources) or a local 'path'")
        if self.dataset and not self.license:
            raise ValueError(f"hub dataset '{self.dataset}' must declare its 'license' (see the dataset's card)")
        if self.lang is not None and self.lang not in LANGS:
            raise ValueError(f"unknown lang '{self.lang}' (known: {', '.join(LANGS)})")
        return self

    @property
    def location(self) -> str:
        """The jsonl glob, or the hub dataset as `id/config[split]`."""
        if self.dataset:
            return f"{self.dataset}" + (f"/{self.config}" if self.config else "") + f"[{self.split}]"
        return self.path or "the run's corpus"


class PhaseConfig(_Strict):
    """One phase of `train.phases`: its own data, length and learning-rate schedule, on the same adapter.

    Continued pre-training on raw text, then instruction tuning on chat data (loss on the assistant
    turns) is the usual pair. Each phase starts a fresh AdamW state and its own warmup and decay, as a
    second run from the first one's adapter would (LLaMA-Factory's and axolotl's CPT-then-SFT practice);
    unset keys take `train`'s. The chat template is the run's (`train.chat_template`): the tokenizer saved
    with the adapter carries one template, so it cannot change between phases.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    datasets: list[TrainDatasetConfig] = Field(min_length=1)
    max_steps: int | None = Field(None, gt=0)
    num_epochs: int | None = Field(None, gt=0)
    lr: float | None = Field(None, gt=0, allow_inf_nan=False)
    warmup_steps: int | None = Field(None, ge=0)
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] | None = None
    weight_decay: float | None = Field(None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_length(self) -> "PhaseConfig":
        if self.max_steps is not None and self.num_epochs is not None:
            raise ValueError(f"phase '{self.name}': give 'max_steps' or 'num_epochs', not both")
        return self


# Keys of `train` a phase may set for itself; the others are the run's.
PHASE_KEYS = ("datasets", "max_steps", "num_epochs", "lr", "warmup_steps", "lr_scheduler", "weight_decay")


class TrainConfig(_Strict):
    datasets: list[TrainDatasetConfig] = Field(default_factory=lambda: [TrainDatasetConfig()], min_length=1)
    block_size: int = Field(2048, gt=1)
    micro_batch_size: int = Field(1, gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    max_steps: int = Field(1000, gt=0)
    # Passes over the data instead of max_steps: every document of every dataset is read this many
    # times (weights then set how the datasets interleave, not how much of each is read).
    num_epochs: int | None = Field(None, gt=0)
    # Documents are read in a seeded order: chunks of consecutive rows in a shuffled order, and the
    # documents of `shuffle_window` of them shuffled together (bounded memory, any corpus size).
    shuffle_chunk: int = Field(1024, gt=0)
    shuffle_window: int = Field(16, gt=0)
    # chat datasets: "tokenizer" (the tokenizer's own template) or chatml, llama3, gemma, qwen. The
    # template's role markers become special tokens when the tokenizer lacks them (rows trained).
    chat_template: Literal["tokenizer", "chatml", "llama3", "gemma", "qwen"] = "tokenizer"
    lr: float = Field(2e-4, gt=0, allow_inf_nan=False)
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)
    warmup_steps: int = Field(0, ge=0)
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    max_grad_norm: float = Field(1.0, gt=0, allow_inf_nan=False)
    log_every: int = Field(10, gt=0)
    max_train_docs: int | None = Field(None, gt=0)  # default cap on documents read by `corpus` datasets
    packing_open_blocks: int = Field(64, gt=0)  # first-fit window of the padding-free packer
    eval_every: int = Field(0, ge=0)  # validation loss and bits per byte every N steps (and at the end); 0: off
    eval_docs: int = Field(200, gt=0)  # validation documents read from the run's corpus
    # Benchmark tasks (names, globs, paths as eval.tasks) run every eval_tasks_every steps (default eval_every)
    # and at the end, on the main process with the adapter as trained so far; data and limits from `eval`.
    eval_tasks: list[str] = Field(default_factory=list)
    eval_tasks_every: int = Field(0, ge=0)
    save_every: int = Field(0, ge=0)  # a checkpoint every N steps (and at the end); 0: off
    keep_last: int = Field(2, gt=0)  # checkpoints kept
    max_bad_steps: int = Field(5, gt=0)  # non-finite loss or gradients: skip the step; abort after this many in a row
    # Experiment trackers through accelerate (local stores in logs/: tensorboard/, wandb/, mlruns/);
    # logs/train_log.jsonl is always written. wandb offline: WANDB_MODE=offline.
    trackers: list[Literal["tensorboard", "wandb", "mlflow", "comet_ml", "aim", "clearml", "dvclive", "swanlab",
                           "trackio"]] = Field(default_factory=lambda: ["tensorboard"])
    tracker_project: str = "lontar"  # the wandb project / MLflow experiment
    peak_tflops: float | None = Field(None, gt=0)  # MFU peak; default measured on the device at start
    # Phases run in order on the same adapter (e.g. continued pre-training, then instruction tuning); each
    # names its own `datasets` and length, and may set lr, warmup_steps, lr_scheduler, weight_decay.
    # With phases, `train.datasets` is not set (a config naming both is refused).
    phases: list[PhaseConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _phases_or_datasets(self) -> "TrainConfig":
        if self.phases and "datasets" in self.model_fields_set:
            raise ValueError("train.phases and train.datasets are both set: with phases, each phase names its own "
                             "datasets (train.phases[i].datasets); remove train.datasets")
        names = [p.name for p in self.phases]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"train.phases: phase names must be unique ({', '.join(twice)} repeated)")
        return self

    @model_serializer(mode="wrap")
    def _phases_replace_datasets(self, handler: Any) -> Any:
        """A phased config written out (the resolved config, the card) has no `train.datasets`: it would be
        refused when loaded back, and it is not what the run trained on."""
        data = handler(self)
        if self.phases and isinstance(data, dict):
            data.pop("datasets", None)
        return data

    def all_datasets(self) -> list[TrainDatasetConfig]:
        """Every data set the run trains on, over all phases."""
        return [d for p in self.phases for d in p.datasets] if self.phases else list(self.datasets)

    @model_validator(mode="before")
    @classmethod
    def _tensorboard_flag(cls, data: Any) -> Any:
        """Older configs' `tensorboard: false|true` drops or adds tensorboard in `trackers`."""
        if isinstance(data, dict) and data.get("tensorboard") is not None:
            data = dict(data)
            on = data.pop("tensorboard")
            rest = [t for t in data.get("trackers", ["tensorboard"]) if t != "tensorboard"]
            data["trackers"] = ["tensorboard", *rest] if on not in (False, "false", "False", 0) else rest
        return data


class EvalConfig(_Strict):
    """Checkpoints x tasks. A task is a YAML file in `configs/tasks/` (name, glob like `belebele_*`, or path).

    `heldout` is bits per byte on this run's validation split, per language. Hub datasets load with
    `datasets.load_dataset`; `dataset_dirs` (hub id -> local dir) or `hub_mirror` (`<dir>/<org>/<name>`)
    read local copies in the hub's layout instead. `{name}` in task paths comes from `data_dirs`.
    """

    checkpoints: list[str] = Field(default_factory=lambda: ["base", "adapter"])
    tasks: list[str] = Field(default_factory=lambda: ["heldout"])
    tasks_dir: str | None = None  # default: the shipped configs/tasks (relative paths: to the config file)
    data_dirs: dict[str, str] = Field(default_factory=dict)  # e.g. {seahelm: ../shared/data/seahelm}
    dataset_dirs: dict[str, str] = Field(default_factory=dict)
    hub_mirror: str | None = None
    missing_data: Literal["error", "skip"] = "error"  # skip: a task whose local data is absent is reported skipped
    max_docs: int | None = Field(None, gt=0)  # held-out corpus documents (a seeded sample)
    limit: int | None = Field(None, gt=0)  # items per benchmark task
    limit_mode: Literal["first", "sample"] = "first"  # first N items (lm-eval's --limit) or a seeded sample
    num_fewshot: int | None = Field(None, ge=0)  # overrides every task's few-shot k
    prompt_style: Literal["base", "chat"] = "base"  # chat: the tokenizer's chat template
    batch_size: int = Field(8, gt=0)
    max_length: int | None = Field(None, gt=1)  # prompt window; default the model's max positions (as lm-eval)
    mc_strategy: Literal["kv_cache", "flat"] = "kv_cache"
    bootstrap: int = Field(1000, ge=0)  # resamples for the 95% intervals; 0 turns them off
    seed: int = 1234
    log_samples: bool = True  # per-item predictions under eval/samples/


class PublishConfig(_Strict):
    repo_id: str | None = None
    # Kept so older configs still load; it uploads nothing: only `--push` on the command line does, so a
    # config file (someone else's, an `extends` parent) cannot send the token anywhere by itself.
    push: bool = False
    # Publish with no evaluation results (a bare adapter); otherwise empty or missing results are refused.
    allow_empty_results: bool = False
    private: bool = True
    revision: str | None = None
    license: str = "apache-2.0"  # the adapter's (or merged model's) own; the base's terms bind it too
    # The base model's licence, where neither its card, config.json nor GGUF metadata is readable here.
    base_license: str | None = None
    commit_message: str = "Upload lontar adapter"
    tags: list[str] = Field(default_factory=lambda: ["lontar", "lora", "sea-languages"])
    endpoint: str | None = None  # a private hub; default HF_ENDPOINT, else huggingface.co
    # `--merge`: the adapter merged into the base, written to runs/<name>/merged as sharded safetensors.
    # Unset: merged when the run's tokenizer adds tokens to a pretrained base (vLLM cannot serve a LoRA
    # adapter that adds vocabulary); false: never.
    merge: bool | None = None
    merged_repo_id: str | None = None  # default: repo_id + "-merged"
    max_shard_size: str = "5GB"
    datasets: list[str] = Field(default_factory=list)  # hub ids for the card; hf sources are added by themselves


GOVERNANCE_ITEMS = ("contact", "intended_uses", "known_licenses", "pii_scrubbed", "decontaminated",
                    "evaluated", "cultural_eval", "safety_eval", "base_license")


class GovernanceConfig(_Strict):
    """Who answers for the model and what it is for: the responsible-AI record and `lontar audit`."""

    contact: str | None = None  # the accountable person or team, with a way to reach them
    organisation: str | None = None
    intended_uses: list[str] = Field(default_factory=list)
    out_of_scope_uses: list[str] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)  # known, in the team's own words
    # What `lontar audit` must find, else it exits non-zero; any of GOVERNANCE_ITEMS.
    require: list[Literal[GOVERNANCE_ITEMS]] = Field(default_factory=list)  # type: ignore[valid-type]


class RunConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    output_dir: str = "runs"
    seed: int = Field(0, ge=0)  # numpy's generators take no negative seed
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: ModelConfig
    lora: LoraSectionConfig = Field(default_factory=LoraSectionConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)

    @model_validator(mode="after")
    def _block_fits_positions(self) -> "RunConfig":
        positions = (self.model.architecture or {}).get("max_position_embeddings")
        if isinstance(positions, int) and self.train.block_size > positions:
            raise ValueError(f"train.block_size ({self.train.block_size}) exceeds "
                             f"model.architecture.max_position_embeddings ({positions})")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def hash(self) -> str:
        """Stable hash of the resolved config, recorded by every stage in the manifest."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# ---------------------------------------------------------------- loading


def _read_yaml(path: Path, origin: str | None) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{origin + ': ' if origin else ''}config file not found: {path}")
    data = safe_yaml.load_file(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _merge(base: dict, over: dict, origins: dict[tuple, str], src: str | None, prefix: tuple = ()) -> dict:
    """Deep-merge `over` into `base`; mappings merge, everything else (lists too) replaces.

    Each replaced leaf is attributed to `src`; None keeps the origins `over` already recorded.
    """
    out = dict(base)
    for key, value in over.items():
        path = prefix + (key,)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, origins, src, path)
        else:
            out[key] = value
            if src is not None:
                for known in [p for p in origins if p[: len(path)] == path]:
                    del origins[known]
                origins[path] = src
    return out


def _load_tree(path: Path, origins: dict[tuple, str], seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{seen[-1]}: 'extends' cycle through {path}")
    data = _read_yaml(path, f"{_display(seen[-1])}: extends" if seen else None)
    parents = data.pop("extends", None) or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ConfigError(f"{path}: extends: must be a file path or a list of them")
    merged: dict[str, Any] = {}
    for parent in parents:
        parent_path = (path.parent / parent) if not Path(parent).is_absolute() else Path(parent)
        merged = _merge(merged, _load_tree(parent_path, origins, seen + (path,)), origins, None)
    return _merge(merged, _anchor_paths(data, path.parent), origins, _display(path))


def _anchor(value: Any, base: Path, local_only: bool = False) -> Any:
    """A relative path named in a config file, made absolute against that file's folder.

    `local_only`: the key takes a hub id too ('org/name'), so only an explicit local path ('./', '../')
    is a path; anything else is left for the hub."""
    if not isinstance(value, str) or not value or value.startswith(("/", "~")) or "://" in value:
        return value
    if local_only and not value.startswith(("./", "../", ".\\", "..\\")) and value not in (".", ".."):
        return value
    return str(Path(os.path.normpath(base / value)))


def _anchor_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Data paths resolved relative to the config file that names them, so a command works from any
    directory. `output_dir` stays relative to where the command runs: that is where the user wants runs."""
    data = copy.deepcopy(data)

    def section(name: str) -> dict[str, Any]:
        node = data.get(name)
        return node if isinstance(node, dict) else {}

    def each(items: Any) -> list[dict[str, Any]]:
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    corpus, tok, model, train, ev = (section(n) for n in ("corpus", "tokenizer", "model", "train", "eval"))
    for src in each(corpus.get("sources")):
        if "path" in src:
            src["path"] = _anchor(src["path"], base)
        if "dataset" in src:
            src["dataset"] = _anchor(src["dataset"], base, local_only=True)
    decon = corpus.get("decontaminate")
    for src in each(decon.get("sources") if isinstance(decon, dict) else None):
        if "path" in src:
            src["path"] = _anchor(src["path"], base)
    mixing = corpus.get("mixing")
    if isinstance(mixing, dict) and "tokenizer" in mixing:
        mt = mixing["tokenizer"]
        mixing["tokenizer"] = _anchor(mt, base, local_only=not (isinstance(mt, str) and mt.endswith((".model", ".json", ".gguf"))))
    if "base" in tok:
        tb = tok["base"]
        tok["base"] = _anchor(tb, base, local_only=not (isinstance(tb, str) and tb.endswith((".model", ".json", ".gguf"))))
    report = tok.get("report")
    parallel = report.get("parallel") if isinstance(report, dict) else None
    for pset in each([parallel] if isinstance(parallel, dict) else parallel):
        if "path" in pset:
            pset["path"] = _anchor(pset["path"], base)
        if "dataset" in pset:
            pset["dataset"] = _anchor(pset["dataset"], base, local_only=True)
    if "name_or_path" in model:
        mp = model["name_or_path"]
        model["name_or_path"] = _anchor(mp, base, local_only=not (isinstance(mp, str) and mp.endswith(".gguf")
                                                                 and mp.count("/") != 2))
    if model.get("tokenizer") not in (None, "run", "base"):
        model["tokenizer"] = _anchor(model["tokenizer"], base)
    for ds in [*each(train.get("datasets")), *(d for p in each(train.get("phases")) for d in each(p.get("datasets")))]:
        if "path" in ds:
            ds["path"] = _anchor(ds["path"], base)
        if "dataset" in ds:
            ds["dataset"] = _anchor(ds["dataset"], base, local_only=True)
    for key in ("tasks_dir", "hub_mirror"):
        if key in ev:
            ev[key] = _anchor(ev[key], base)
    for key in ("data_dirs", "dataset_dirs"):
        if isinstance(ev.get(key), dict):
            ev[key] = {k: _anchor(v, base) for k, v in ev[key].items()}
    return data


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=value` -> (['a', 'b', 'c'], value); the value is read as YAML (numbers, lists, bools)."""
    if "=" not in text:
        raise ConfigError(f"--set {text}: expected key=value")
    key, raw = text.split("=", 1)
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text}: bad key '{key}'")
    try:
        value = safe_yaml.load(raw) if raw else ""
    except safe_yaml.YamlLimitError as e:
        raise ConfigError(f"--set {key}: {e.problem}") from None
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def _set_path(tree: dict, keys: list[str], value: Any, origins: dict[tuple, str], src: str) -> None:
    node = tree
    for i, key in enumerate(keys[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            section = ".".join(keys[: i + 1])
            raise ConfigError(f"{src}: '{section}' is not a section")
        node = child
    node[keys[-1]] = value
    origins[tuple(keys)] = src


def _origin(origins: dict[tuple, str], loc: tuple, default: str) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            return origins[loc[:n]]
    return default


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the field at `loc`, to list the keys it allows."""
    model: Any = RunConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ()) or ()
        candidates = [ann, *args, *[a for arg in args for a in (getattr(arg, "__args__", ()) or ())]]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return None
    return model


def _format_error(err: dict, origins: dict[tuple, str], default: str) -> str:
    loc = tuple(err["loc"])
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    src = _origin(origins, loc, default)
    if err["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1])
        allowed = sorted(owner.model_fields) if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return f"{src}: {key}: unknown key{hint}"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{src}: {key}: required key is missing"
    got = err.get("input")
    shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
    return f"{src}: {key + ': ' if key else ''}{msg}{shown}"


def check_paths(cfg: RunConfig, origins: dict[tuple, str], default: str) -> None:
    """Input paths must exist before any work starts."""
    for i, src in enumerate(cfg.corpus.sources):
        if src.path and not expand_glob(src.path):
            where = _origin(origins, ("corpus", "sources", i, "path"), default)
            raise ConfigError(f"{where}: corpus.sources[{i}].path: no file matches '{src.path}'")
        ds = src.dataset
        if ds and ds.startswith((".", "/", "~")) and not Path(ds).expanduser().exists():
            where = _origin(origins, ("corpus", "sources", i, "dataset"), default)
            raise ConfigError(f"{where}: corpus.sources[{i}].dataset: local dataset directory not found: {ds}")
    for i, dsrc in enumerate(cfg.corpus.decontaminate.sources):
        if not expand_glob(dsrc.path):
            where = _origin(origins, ("corpus", "decontaminate", "sources", i, "path"), default)
            raise ConfigError(f"{where}: corpus.decontaminate.sources[{i}].path: no file matches '{dsrc.path}'")
    mp = cfg.model.name_or_path
    looks_local = mp and (mp.startswith((".", "/", "~")) or mp.count("/") > 1)  # hub ids are 'org/name'
    if mp and mp.lower().endswith(".gguf") and not mp.startswith((".", "/", "~")):
        looks_local = False  # 'org/repo/file.gguf': a GGUF file in a hub repository
    if looks_local and not Path(mp).expanduser().exists():
        where = _origin(origins, ("model", "name_or_path"), default)
        raise ConfigError(f"{where}: model.name_or_path: local model directory not found: {mp}")
    mt = cfg.corpus.mixing.tokenizer
    if mt and (mt.startswith((".", "/", "~")) or mt.endswith((".model", ".json", ".gguf"))) and not Path(mt).expanduser().exists():
        where = _origin(origins, ("corpus", "mixing", "tokenizer"), default)
        raise ConfigError(f"{where}: corpus.mixing.tokenizer: tokenizer not found: {mt}")
    tok = cfg.model.tokenizer
    if tok not in ("run", "base") and not Path(tok).expanduser().exists():
        where = _origin(origins, ("model", "tokenizer"), default)
        raise ConfigError(f"{where}: model.tokenizer: tokenizer directory not found: {tok}")


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Load, merge `extends`, apply `--set` overrides, validate. Raises ConfigError (one line)."""
    path = Path(path)
    origins: dict[tuple, str] = {}
    tree = _load_tree(path, origins)
    for text in overrides:
        keys, value = parse_override(text)
        _set_path(tree, keys, value, origins, f"--set {text}")
    default = _display(path)
    try:
        cfg = RunConfig.model_validate(tree)
    except ValidationError as e:
        errors = e.errors(include_url=False)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise ConfigError(_format_error(errors[0], origins, default) + more) from None
    check_paths(cfg, origins, default)
    return cfg


def save_resolved(cfg: RunConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
