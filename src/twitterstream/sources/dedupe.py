"""Dropping what a resumed connection or a gap fill delivers a second time."""

from __future__ import annotations

from collections import OrderedDict


class RecentKeys:
    """The last ``size`` keys seen: drops what a resumed connection or a gap fill delivers a second time.

    Not thread-safe: a source calls it from the one thread (or under the lock) that delivers.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is offered (and remember it); False for a repeat."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True
