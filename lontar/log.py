"""Where lontar's progress and result lines go: the `lontar` logger, set up once by the CLI.

Library modules log through `logging.getLogger(__name__)` (the train loop through accelerate's
logger, which speaks on the main process only); only the command line attaches handlers, so a
program that imports lontar keeps control of its own logging. Lines are written through
`tqdm.write` so that they never tear a progress bar, and looked up on `sys.stdout` at each write so
that redirection (and pytest's capture) sees them.
"""

from __future__ import annotations

import logging
import os
import sys

from tqdm import tqdm

LEVELS = ("debug", "info", "warning", "error")


def process_rank() -> int:
    """This process's global rank under torchrun / accelerate launch / deepspeed (0 when not launched)."""
    for key in ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return 0


class _MainProcessOnly(logging.Filter):
    """Other ranks speak only for errors, or when a record asks for it (`extra={"all_ranks": True}`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return process_rank() == 0 or record.levelno >= logging.ERROR or getattr(record, "all_ranks", False)


class _TqdmHandler(logging.Handler):
    """Info and below on stdout, warnings and errors on stderr; both above any live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            tqdm.write(self.format(record), file=stream)
        except Exception:  # noqa: BLE001  (logging's own contract: never raise from emit)
            self.handleError(record)


def setup_logging(level: str = "info") -> logging.Logger:
    """Attach lontar's one handler to the `lontar` logger at `level` (idempotent: reconfigures)."""
    logger = logging.getLogger("lontar")
    for h in [h for h in logger.handlers if isinstance(h, _TqdmHandler)]:
        logger.removeHandler(h)
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_MainProcessOnly())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = True  # pytest's caplog and an embedding program's root handlers still see the records
    return logger
