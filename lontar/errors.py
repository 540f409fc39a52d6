"""One base class for every failure a user can cause or fix.

The CLI catches `LontarError` alone and prints it as one line with exit 2; any other exception is a
bug in lontar and keeps its traceback. Subclasses say which stage or layer failed, so callers (and
tests) can catch a narrow kind without matching message text.
"""

from __future__ import annotations

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
