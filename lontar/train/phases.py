"""`train.phases`: a run trained in phases (continued pre-training, then instruction tuning) on one adapter.

A phase is the run's config with that phase's `train` keys in place (`lontar.config.PHASE_KEYS`), so the
data, packing and schedule code sees an ordinary single-phase config. A run without phases is one
unnamed phase: its logs, checkpoints and manifest stay as they were before phases existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lontar.config import PHASE_KEYS, RunConfig


@dataclass(frozen=True)
class Phase:
    index: int
    name: str | None  # None: the run has no `train.phases`
    cfg: RunConfig  # the run's config as this phase trains: its datasets, length and schedule in `train`

    @property
    def label(self) -> str:
        return self.name or "train"


def phase_list(cfg: RunConfig) -> list[Phase]:
    """The phases in order; a run without `train.phases` is one unnamed phase, its config unchanged."""
    if not cfg.train.phases:
        return [Phase(0, None, cfg)]
    out = []
    for i, p in enumerate(cfg.train.phases):
        update: dict[str, Any] = {k: getattr(p, k) for k in PHASE_KEYS if getattr(p, k) is not None}
        if p.max_steps is not None:
            update["num_epochs"] = None  # the phase's own length, never the run's epochs
        update["phases"] = []
        train = cfg.train.model_copy(update=update, deep=True)
        out.append(Phase(i, p.name, cfg.model_copy(update={"train": train})))
    return out


def qualified(summary: dict[str, dict[str, int]], phase: str | None) -> dict[str, dict[str, int]]:
    """A phase's token summary with its dataset and stream names prefixed `phase/` (two phases may both
    name a data set `corpus`)."""
    if phase is None:
        return summary
    return {k: ({f"{phase}/{n}": v for n, v in counts.items()} if k in ("by_dataset", "by_stream") else dict(counts))
            for k, counts in summary.items()}


def merge_summaries(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Tokens trained over all phases: per language summed, per dataset and stream under their qualified names."""
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for key, counts in part.items():
            into = out.setdefault(key, {})
            for name, n in counts.items():
                into[name] = into.get(name, 0) + int(n)
    return out
