"""Fixtures for tokenizer tests: real Khmer text, parallel Global-MMLU-Lite text, real base tokenizers.

Real bases come from the PyPI package mistral-common (`mistral_common/data/`): Mistral's SentencePiece
`tokenizer.model.v1` and the Tekken `tekken_240911.json`. Parallel text is read from
`../shared/data/seahelm/` (beside the checkout); tests needing what is absent are skipped.
"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

from tests.conftest import REPO, has_rdlab

SEAHELM = REPO.parent / "shared" / "data" / "seahelm"
MMLU_LANGS = ("en", "id", "ms", "my", "tl", "vi", "zh")
MMLU_FIELDS = ["prompts.0.question", "prompts.0.option_a", "prompts.0.option_b", "prompts.0.option_c",
               "prompts.0.option_d"]


def mistral_data() -> Path:
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mistral-common is not installed (pip install -e .[dev])")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@pytest.fixture(scope="session")
def khmer_split() -> dict[str, list[str]]:
    """Distinct rdlab sentences, shuffled: 'train' (20,000) and a disjoint 'heldout' (2,000)."""
    if not has_rdlab():
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    from lontar.corpus.sources import rdlab_path, read_rdlab

    sentences = sorted(set(read_rdlab(rdlab_path())))  # the package repeats some sentences
    random.Random(0).shuffle(sentences)
    return {"train": sentences[:20_000], "heldout": sentences[-2_000:]}


def mmlu_texts(lang: str, split: str = "test") -> list[str]:
    """Question + options of each Global-MMLU-Lite item, normalized as the corpus stage would."""
    from lontar.langs import normalizer_for

    path = SEAHELM / f"global_mmlu_lite_{lang}_{split}.jsonl"
    if not path.is_file():
        pytest.skip(f"parallel text not found: {path}")
    normalize = normalizer_for(lang)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        prompt = json.loads(line)["prompts"][0]
        parts = [prompt.get(k) for k in ("question", "option_a", "option_b", "option_c", "option_d")]
        out.append(normalize("\n".join(p for p in parts if isinstance(p, str))))
    return out


@pytest.fixture(scope="session")
def mistral_spm() -> Path:
    return mistral_data() / "tokenizer.model.v1"


@pytest.fixture(scope="session")
def tekken_file() -> Path:
    return mistral_data() / "tekken_240911.json"
