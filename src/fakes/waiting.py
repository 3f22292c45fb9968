"""Waiting for something to become true, for tests and benchmarks: one ``eventually`` for all of them.

Where the thing waited for announces its changes (a fake service, a recording sink), the wait sleeps on that
announcement and wakes at once; otherwise it re-checks every ``every`` seconds. Either way it fails with an
``AssertionError`` that says what was awaited, never by hanging.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Even with ``changes``, re-check this often: the predicate may look at state that announces nothing.
RECHECK_SECONDS = 0.05


class Changes:
    """A counter bumped on every change of some state, and a condition to sleep on until it moves."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self.condition = threading.Condition(lock or threading.RLock())
        self._count = 0

    @property
    def count(self) -> int:
        """How many changes so far (compare two readings to know whether anything happened)."""
        with self.condition:
            return self._count

    def bump(self) -> None:
        """Announce a change: every waiter wakes."""
        with self.condition:
            self._count += 1
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Sleep until the count differs from ``seen`` or ``timeout`` seconds have passed."""
        with self.condition:
            self.condition.wait_for(lambda: self._count != seen, timeout)


def eventually(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    message: str = "",
    *,
    changes: Changes | None = None,
    every: float = 0.01,
    detail: Callable[[], str] | None = None,
) -> T:
    """Wait until ``predicate()`` is truthy and return its value; AssertionError after ``timeout`` seconds.

    With ``changes`` the wait wakes on every change announced there (and re-checks every 50 ms); without,
    it re-checks every ``every`` seconds. The predicate runs without any lock held. ``detail`` adds the
    state of what was waited on to the failure message.
    """
    deadline = time.monotonic() + timeout
    while True:
        seen = changes.count if changes is not None else 0
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            what = message or describe(predicate)
            extra = f"; {detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{extra}")
        if changes is not None:
            changes.wait(seen, min(remaining, RECHECK_SECONDS))
        else:
            time.sleep(min(remaining, every))


def describe(predicate: Callable[..., object]) -> str:
    """The source line of a lambda (or the function's name), for failure messages."""
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__name__", repr(predicate))
