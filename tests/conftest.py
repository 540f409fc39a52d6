"""Shared fixtures: real Khmer text from the rdlab-dataset package, tiny configs in a temp dir."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import pytest
import yaml

# No test may reach a hub: fail at once instead of retrying a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def lontar_logging():
    """Stage lines reach stdout as the command line sends them (`capsys` sees them; `caplog` too)."""
    from lontar.log import setup_logging

    setup_logging("info")


def has_rdlab() -> bool:
    try:
        importlib.metadata.distribution("rdlab_dataset")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


needs_rdlab = pytest.mark.skipif(not has_rdlab(), reason="the PyPI package rdlab-dataset is not installed")


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def khmer_sentences() -> list[str]:
    if not has_rdlab():
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    from lontar.corpus.sources import rdlab_path, read_rdlab

    return read_rdlab(rdlab_path())[:5000]
