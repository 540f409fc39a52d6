"""Dotted paths into JSON records, shared by the decontamination index and the tokenizer's parallel text."""

from __future__ import annotations

from typing import Any


def get_field(record: Any, path: str) -> Any:
    """`prompts.0.question` -> record["prompts"][0]["question"]; None when any step is missing."""
    for part in path.split("."):
        if isinstance(record, list) and part.isdigit() and int(part) < len(record):
            record = record[int(part)]
        elif isinstance(record, dict) and part in record:
            record = record[part]
        else:
            return None
    return record
