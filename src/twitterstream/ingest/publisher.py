"""What the active ingester tells the web through the store: its state, and the queries it cannot serve."""

from __future__ import annotations

import logging
import threading

from twitterstream.ingest.writer import StoreOutage
from twitterstream.query.capabilities import SOURCE_LABELS
from twitterstream.store import Store, StoreUnavailable
from twitterstream.store.state import INGESTER_STATE, QUERY_PROBLEMS, IngesterState

log = logging.getLogger(__name__)


class QueryProblems:
    """Why the sources cannot serve some queries, in words (thread-safe: the sources and the ingester set it).

    With several sources, each source's problem is kept apart and published as "Mastodon: why" (the other
    sources may serve the query meanwhile).
    """

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}
        self._by_source: dict[str, dict[str, str]] = {}
        self._dirty = False
        self._lock = threading.Lock()

    def set(self, query_key: str, problem: str | None, source: str | None = None) -> bool:
        """Record (or, with None, clear) a query's problem, one ``source``'s or the query's as a whole (then
        clearing also clears every source's); True when that changed what is published."""
        with self._lock:
            if source is None:
                if problem is None:
                    self._by_source.pop(query_key, None)
                words = problem
            else:
                mine = self._by_source.setdefault(query_key, {})
                if problem is None:
                    mine.pop(source, None)
                else:
                    mine[source] = problem
                if not mine:
                    del self._by_source[query_key]
                found = sorted(mine.items())
                words = "; ".join(f"{SOURCE_LABELS.get(name, name)}: {why}" for name, why in found) or None
            if self._problems.get(query_key) == words:
                return False
            if words is None:
                self._problems.pop(query_key, None)
            else:
                self._problems[query_key] = words
            self._dirty = True
            return True

    def mark_changed(self) -> None:
        """Publish the problems again next time (the last publication failed)."""
        with self._lock:
            self._dirty = True

    def take_changes(self) -> dict[str, str] | None:
        """All problems if they changed since the last call, else None."""
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return dict(self._problems)


def publish(store: Store, state: IngesterState, problems: QueryProblems, outage: StoreOutage | None = None) -> None:
    """Write the ingester's state (and changed query problems) to the store; a store outage is only logged
    (once, by ``outage``): the next tick publishes again."""
    changed = problems.take_changes()
    try:
        if changed is not None:
            store.set_state(QUERY_PROBLEMS, changed)
        store.set_state(INGESTER_STATE, state.to_json())
    except StoreUnavailable as exc:
        if changed is not None:
            problems.mark_changed()
        (outage or StoreOutage()).failed(exc)
        return
    if outage is not None:
        outage.answered()
