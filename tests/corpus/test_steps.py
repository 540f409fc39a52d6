"""Corpus steps read their options from the config."""

from __future__ import annotations

from lontar.config import CorpusConfig
from lontar.corpus.steps import build_steps


def _normalize_step(**config):
    return next(s for s in build_steps(CorpusConfig(**config)) if s.name == "normalize")


def test_khmer_coeng_da_to_ta_reaches_the_normalizer():
    batch = {"text": ["កណ្ដាល\rខ្មែរ", "kaṇḍāl"], "lang": ["km", "vi"]}
    merged = _normalize_step().fn(batch)[0]
    kept = _normalize_step(khmer_coeng_da_to_ta=False).fn(batch)[0]
    assert merged == ["កណ្តាល\nខ្មែរ", "kaṇḍāl"]
    assert kept == ["កណ្ដាល\nខ្មែរ", "kaṇḍāl"]
    assert "subscript DA merged into TA" in _normalize_step().description
    assert "kept apart" in _normalize_step(khmer_coeng_da_to_ta=False).description
