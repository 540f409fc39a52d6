"""One base class for every failure a user can cause or fix.

The CLI catches `LontarError` alone and prints it as one line with exit 2; any other exception is a
bug in lontar and keeps its traceback. Subclasses say which stage or layer failed, so callers (and
tests) can catch a narrow kind without matching message text.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MAX_MESSAGE_CHARS = 500


def one_line(message: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Collapse a message to one bounded line: error text may quote hostile input (a YAML bomb, a
    50 MB record), and the promise to users is one readable line, not a dump."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LontarError(Exception):
    """An expected failure: bad config, bad or missing input, a refused action."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class ConfigError(LontarError):
    """A bad config: the message names the file and the key (or path)."""


class StageError(LontarError):
    """A stage cannot run with what it found (e.g. an earlier stage's output is missing)."""


class DataError(LontarError):
    """Input data that cannot be read or used as the config describes (names the file and record)."""


class MissingInput(StageError, FileNotFoundError):
    """An input file, or an earlier stage's output, is not there. Still a FileNotFoundError so that
    callers (and `except FileNotFoundError`) keep working; the CLI reports it as a LontarError."""


class InvalidInput(DataError, ValueError):
    """A value or data that cannot be used. Still a ValueError, so that a pydantic validator calling
    library code turns it into a config error with the key's place."""


class TrainingDiverged(StageError, FloatingPointError):
    """Training met non-finite losses or gradients too many steps in a row: a setting to change (the
    learning rate, the precision), said in one line. Still a FloatingPointError for callers."""


class StorageError(StageError):
    """The disk refused a write (full, read-only, no permission): the machine's state, not a bug."""


# errno values that mean "the storage refused", which a user fixes by freeing space or choosing another
# output_dir; any other OSError is unexpected and keeps its traceback.
STORAGE_ERRNOS = frozenset(getattr(errno, n) for n in ("ENOSPC", "EROFS", "EACCES", "EPERM", "EDQUOT", "EFBIG", "ENOTDIR")
                           if hasattr(errno, n))


def _storage_failure(e: OSError) -> tuple[int | None, str | None]:
    """(errno, file) when `e` is the storage refusing; shutil.copytree gathers its failures into one
    shutil.Error whose items carry the errno only in their text."""
    if e.errno in STORAGE_ERRNOS:
        return e.errno, e.filename
    if isinstance(e, shutil.Error) and e.args and isinstance(e.args[0], list):
        for item in e.args[0]:
            found = re.search(r"\[Errno (\d+)\]", str(item[-1])) if isinstance(item, tuple) and item else None
            if found and int(found.group(1)) in STORAGE_ERRNOS:
                return int(found.group(1)), str(item[1]) if len(item) > 1 else None
    return None, None


@contextmanager
def storage_errors(what: str = "", cleanup: Callable[[], object] | None = None) -> Iterator[None]:
    """Turn a refused write into a one-line StorageError naming the file, after `cleanup` (which removes
    the half-written work that would go on filling the disk); leaves other errors alone."""
    try:
        yield
    except OSError as e:
        code, name = _storage_failure(e)
        if code is None or isinstance(e, LontarError):
            raise
        if cleanup is not None:
            cleanup()
        name = name or what or "output"
        full = code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG)
        fix = "free space or choose another output_dir" if full else \
            "check the file's permissions or choose a writable output_dir"
        raise StorageError(f"{name}: {os.strerror(code)} (errno {errno.errorcode.get(code, code)}): {fix}; "
                           "partial work was removed") from None
