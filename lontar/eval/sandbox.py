"""The Jinja environment for task files, bounded in output, loop steps and arithmetic.

Jinja's sandbox already blocks attribute tricks, but a task file from elsewhere can still ask for
`9**99999999` (a number with hundreds of millions of digits), `'x' * 10**9`, or two nested
`range(99999)` loops: each renders "safely" for minutes or hours. Here powers and repetitions with large
results are refused, `range` is shorter, and each rendering has a budget of loop steps and output size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RANGE = 10_000  # items one range() may have
MAX_STEPS = 1_000_000  # range() items one rendering may walk through, nested loops together
MAX_OUTPUT_CHARS = 1_000_000  # characters one rendering, string repetition or join may produce
MAX_POWER_BITS = 4096  # size of the result a ** may have
MAX_SECONDS = 10.0  # wall time one rendering may take, checked at each loop step

_budget: ContextVar[list[float] | None] = ContextVar("jinja_budget", default=None)


class RenderBudget:
    """The limits of one rendering: steps left and the time it must end by."""

    def __enter__(self) -> "RenderBudget":
        self._token = _budget.set([MAX_STEPS, time.monotonic() + MAX_SECONDS])
        return self

    def __exit__(self, *exc: object) -> None:
        _budget.reset(self._token)


def _step(n: int = 1) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget[0] -= n
    if budget[0] < 0:
        raise SecurityError(f"the template walks more than {MAX_STEPS:,} loop steps")
    if time.monotonic() > budget[1]:
        raise SecurityError(f"the template takes more than {MAX_SECONDS:g} s to render")


def _range(*args: int) -> Iterator[int]:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(f"range of {len(rng):,} items; the sandbox allows {MAX_RANGE:,}")
    for i in rng:
        _step()
        yield i


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["**", "*"])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = _range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, (int, float)) and isinstance(right, (int, float)):
            base = abs(left)
            if base > 1 and right > 0 and right * math.log2(base) > MAX_POWER_BITS:
                raise SecurityError(f"{left!r} ** {right!r} is too large for the sandbox")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                size = _size(seq)
                if size is not None and isinstance(n, int) and size * n > MAX_OUTPUT_CHARS:
                    raise SecurityError(f"repetition to {size * n:,} items; the sandbox allows {MAX_OUTPUT_CHARS:,}")
        return super().call_binop(context, operator, left, right)


ENV = BoundedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def render(template: Any, doc: dict[str, Any]) -> str:
    """A template's text under the budget, stopped as soon as the output passes the limit."""
    with RenderBudget():
        out: list[str] = []
        size = 0
        for chunk in template.generate(**doc):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise SecurityError(f"the template's output passes {MAX_OUTPUT_CHARS:,} characters")
            out.append(chunk)
            _step(0)
        return "".join(out)


def evaluate(expression: Any, doc: dict[str, Any]) -> Any:
    with RenderBudget():
        return expression(**doc)
