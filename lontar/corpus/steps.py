"""Corpus steps: pure functions over a batch (a dict of columns), see `lontar.corpus.pipeline`.

The same functions run under `datasets.Dataset.map(batched=True, num_proc=N)` (the local runner) or
`ray.data`. Settings are bound with `functools.partial`, so a step pickles to worker processes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from functools import partial

from lontar.config import CorpusConfig, LidConfig
from lontar.corpus.decontam import ContaminationIndex, decontaminate
from lontar.corpus.junk import junk_step
from lontar.corpus.lid import LanguageIdentifier, lid_reasons
from lontar.corpus.pii import scrub_pii
from lontar.corpus.pipeline import Batch, Step, StepOutput
from lontar.corpus.quality import quality_step
from lontar.langs import get_lang, load, normalizer_for

# Invisible characters that do not change what a reader sees: ignored by the dedup key.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def text_hash(text: str) -> str:
    """Content hash of normalized text, blind to zero-width characters: the key of exact dedup and of the split."""
    return hashlib.blake2b(text.translate(_INVISIBLE).encode("utf-8"), digest_size=16).hexdigest()


# A document counts as converted from a legacy encoding when the detector was this sure before and
# is as sure after (the rule the Burmese normalizer itself applies; Google's advice for Zawgyi).
LEGACY_SURE = 0.95


def normalize(batch: Batch, options: dict[str, dict] | None = None) -> StepOutput:
    """NFC, controls and whitespace everywhere, then the script rules of each document's language;
    documents converted from a legacy encoding (Zawgyi) are counted for the card.

    `options` maps a language code to keyword arguments of its normalizer (from the config)."""
    options = options or {}
    texts, counts = [], {}
    for text, lang in zip(batch["text"], batch["lang"]):
        new = normalizer_for(lang)(text, **options.get(lang, {}))
        info = get_lang(lang)
        if info.legacy_detector and new != text:
            detect = load(info.legacy_detector)
            if detect(text) >= LEGACY_SURE and detect(new) < 1.0 - LEGACY_SURE:
                key = f"converted from {info.legacy_encoding}"
                counts[key] = counts.get(key, 0) + 1
        texts.append(new)
    return texts, [None] * len(texts), counts


def min_length(batch: Batch, min_chars: int) -> StepOutput:
    reasons = [None if len(t) >= min_chars else ("empty" if not t else f"shorter than {min_chars} chars")
               for t in batch["text"]]
    return batch["text"], reasons, {}


def language_id(batch: Batch, config: LidConfig, identifier: LanguageIdentifier) -> StepOutput:
    """Each document must be identified as its source's language (threshold per language)."""
    reasons: list[str | None] = [None] * len(batch["text"])
    rows_by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(batch["lang"]):
        rows_by_lang[lang].append(i)
    for lang, rows in rows_by_lang.items():
        sub = {"text": [batch["text"][i] for i in rows]}
        found = lid_reasons(sub, lang, config.thresholds.get(lang, config.threshold), identifier,
                            also_accept=config.also_accept.get(lang, get_lang(lang).lid_also_accept))
        for i, reason in zip(rows, found):
            reasons[i] = reason
    return batch["text"], reasons, {}


def scrub(batch: Batch) -> StepOutput:
    """PII placeholders; each document's language picks the country its phone numbers are checked for."""
    texts, totals = [], {}
    for text, lang in zip(batch["text"], batch["lang"]):
        new, counts = scrub_pii(text, lang)
        texts.append(new)
        for kind, n in counts.items():
            if n:
                totals[kind] = totals.get(kind, 0) + n
    return texts, [None] * len(texts), totals


def build_steps(corpus: CorpusConfig) -> list[Step]:
    """The step list a corpus config asks for, in order."""
    steps = []
    if corpus.normalize:
        da = "subscript DA merged into TA" if corpus.khmer_coeng_da_to_ta else "subscript DA kept apart from TA"
        steps.append(Step("normalize", partial(normalize, options={"km": {"coeng_da_to_ta": corpus.khmer_coeng_da_to_ta}}),
                          "NFC, controls and whitespace; per-language script rules (Khmer clusters in UTN #61 order "
                          f"and zero-width, {da}; Zawgyi, Thai/Lao sara am, Vietnamese tones)"))
    if corpus.junk.enabled:
        steps.append(Step("junk", partial(junk_step, max_removed_char_frac=corpus.junk.max_removed_char_frac),
                          "HTML tags, link runs, menus, banners and navigation (Read More, Next:) removed line by "
                          "line, sentences repeated within a document removed; documents losing more than "
                          f"{corpus.junk.max_removed_char_frac:.0%} set aside"))
    steps.append(Step("min_length", partial(min_length, min_chars=corpus.min_chars),
                      f"documents shorter than {corpus.min_chars} characters set aside"))
    if corpus.lid.enabled:
        langs = sorted({s.lang for s in corpus.sources})
        steps.append(Step("lid", partial(language_id, config=corpus.lid, identifier=LanguageIdentifier(langs)),
                          f"language ID against each source's lang (threshold {corpus.lid.threshold}, "
                          f"per language {corpus.lid.thresholds or 'none'})"))
    if corpus.quality.enabled:
        steps.append(Step("quality", partial(quality_step, config=corpus.quality),
                          "Gopher/C4/FineWeb-style quality filters in each language's unit (syllables for km, "
                          "lo, th, my; characters for zh; words otherwise)"))
    d = corpus.decontaminate
    if d.enabled and d.sources:
        index = ContaminationIndex.build(d)
        steps.append(Step("decontaminate", partial(decontaminate, index=index, action=d.action),
                          f"{d.action} documents sharing a {d.n}-unit n-gram with {index.items} evaluation items "
                          f"({index.too_short} items shorter than {d.n} units cannot match)"))
    if corpus.pii.enabled:
        steps.append(Step("pii", scrub, "e-mails, phone numbers, IP addresses, ID-like numbers and URLs "
                                        "replaced by placeholders"))
    return steps


def split_of(doc_id: str, validation_fraction: float) -> str:
    """Deterministic split from the content hash: the same text lands in the same split on every run."""
    bucket = int(doc_id[:8], 16) / 0xFFFFFFFF
    return "validation" if bucket < validation_fraction else "train"
