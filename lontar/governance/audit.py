"""`lontar audit --config FILE`: what the run's responsible-AI record still lacks.

Writes `runs/<name>/governance.json` (validated against the shipped schema), prints every item with
ok or missing, and fails (exit 2) when an item named in `governance.require` is missing.
"""

from __future__ import annotations

import logging
from typing import Any

from lontar.errors import StageError
from lontar.config import RunConfig
from lontar.governance.record import build_record, validate_record
from lontar.manifest import atomic_write_json

log = logging.getLogger(__name__)


def run_audit(cfg: RunConfig) -> dict[str, Any]:
    rec = build_record(cfg)
    validate_record(rec)
    path = cfg.run_dir / "governance.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, rec)
    required = set(cfg.governance.require)
    for item in rec["audit"]:
        mark = "ok     " if item["ok"] else ("MISSING" if item["item"] in required else "lacking")
        log.info(f"audit: {mark} {item['item']:<15} {item['detail']}")
    for p in rec["risk_assessment"]:
        log.info(f"audit: principle {p['principle']}: {p['status']}")
    missing = [i["item"] for i in rec["audit"] if not i["ok"] and i["item"] in required]
    log.info(f"audit: record written to {path}")
    if missing:
        raise StageError(f"audit: required by governance.require but missing: {', '.join(missing)}")
    return rec
