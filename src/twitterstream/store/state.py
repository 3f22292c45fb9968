"""What the ingester publishes in the store for the web to read: the names and their shapes.

Both sides import this module (and nothing of each other): the web learns the source's name and state from
here, never by importing a source or the ingester (what a source can evaluate is a table in
``twitterstream.query.capabilities``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: The store lock that makes one ingester active; the others wait as standbys.
INGESTER_LOCK = "ingester"
#: ``IngesterState.to_json()``, rewritten at every tick of the active ingester.
INGESTER_STATE = "ingester"
#: ``{query key: problem in words}``: why the source cannot serve a query.
QUERY_PROBLEMS = "query_problems"
#: An ingester that has not written its heartbeat for this long is presumed gone.
INGESTER_SILENCE = 30.0


@dataclass
class IngesterState:
    """One snapshot of the active ingester, as pages, ``/readyz`` and ``/metrics`` read it."""

    holder: str
    status: dict[str, Any]  # SourceStatus.to_json(): source, state, reason, retry_at, since
    counters: dict[str, float]
    heartbeat: float = field(default_factory=time.time)
    stopped: bool = False  # set by a clean stop, so that pages say so at once instead of after the silence
    #: Per source name: its ``SourceStatus.to_json()`` plus ``counters`` (its own posts_received...).
    #: ``status`` is the first source's, for readers that know one source.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "heartbeat": self.heartbeat,
            "status": self.status,
            "counters": self.counters,
            "stopped": self.stopped,
            "sources": self.sources,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IngesterState:
        return cls(
            holder=str(data.get("holder", "")),
            status=dict(data.get("status") or {}),
            counters=dict(data.get("counters") or {}),
            heartbeat=float(data.get("heartbeat", 0.0)),
            stopped=bool(data.get("stopped", False)),
            sources={str(k): dict(v) for k, v in (data.get("sources") or {}).items() if isinstance(v, dict)},
        )

    def is_alive(self, now: float | None = None) -> bool:
        """True while the ingester writes its heartbeat and has not said it stopped."""
        return not self.stopped and (now if now is not None else time.time()) - self.heartbeat <= INGESTER_SILENCE
