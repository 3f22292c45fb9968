"""Counters of the ingester, and the Prometheus text the ``/metrics`` endpoint serves.

The ingester counts in plain integers (cheap on the hot path) and publishes a snapshot to the store every
few seconds, so a web process in another container can serve the figures; in ``serve`` mode the web
reads the live counters directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass
class IngestCounters:
    """Running totals of one ingester process."""

    posts_received: int = 0
    posts_matched: int = 0
    source_reads: int = 0
    source_reconnects: int = 0
    embeds_fetched: int = 0
    embeds_failed: int = 0
    embeds_skipped: int = 0
    duplicates_skipped: int = 0
    posts_invalid: int = 0
    watched_queries: int = 0
    #: X's cost guard: posts read this month, the cap (0: none known), their estimated cost in US dollars.
    x_posts_read: int = 0
    x_post_cap: int = 0
    x_estimated_spend_usd: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def set(self, name: str, value: float) -> None:
        with self._lock:
            setattr(self, name, value)

    def snapshot(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in _COUNTER_FIELDS}


_COUNTER_FIELDS = tuple(f.name for f in fields(IngestCounters))


_COUNTERS = {
    "posts_received": "Posts decoded from the source",
    "posts_matched": "Post-to-query matches stored",
    "source_reads": "Posts the source bills for (X bills each post read)",
    "source_reconnects": "Reconnects to the source",
    "embeds_fetched": "Embeds fetched and sanitised",
    "embeds_failed": "Embeds that could not be fetched",
    "embeds_skipped": "Embed requests dropped because more were waiting than could be fetched",
    "duplicates_skipped": "Posts received again and not stored twice",
    "posts_invalid": "Posts dropped because an id, DID, handle or URL breaks the service's syntax",
}

_GAUGES = {
    "watched_queries": "Queries watched now",
    "x_posts_read": "Posts read from X this month (X's usage figure plus the reads since)",
    "x_post_cap": "The monthly cap on posts read from X: the smaller of X's and X_MONTHLY_POST_CAP (0: none known)",
    "x_estimated_spend_usd": "Estimated spend on X this month: posts read times X_PRICE_PER_POST",
}


#: Counted per source too, with a ``source`` label (``twitterstream_<name>_by_source_total``: another name
#: than the total's, so that summing a family never counts a post twice).
_SOURCE_COUNTERS = {
    "posts_received": "Posts decoded from each source",
    "source_reads": "Posts each source bills for",
    "source_reconnects": "Reconnects to each source",
    "posts_invalid": "Posts of each source dropped because an id, DID, handle or URL breaks its syntax",
}


class IngesterCollector(Collector):
    """Exposes the ingester's counters, read through ``read`` at scrape time; with ``read_sources`` also each
    source's own, labelled ``source`` (the unlabelled totals stay, for dashboards that know one source)."""

    def __init__(
        self,
        read: Callable[[], dict[str, Any] | None],
        read_sources: Callable[[], dict[str, dict[str, float]]] | None = None,
    ) -> None:
        self._read = read
        self._read_sources = read_sources

    def collect(self) -> Iterator[Metric]:
        values = self._read() or {}
        for name, help_text in _COUNTERS.items():
            counter = CounterMetricFamily(f"twitterstream_{name}", help_text)
            counter.add_metric([], float(values.get(name, 0)))
            yield counter
        for name, help_text in _GAUGES.items():
            gauge = GaugeMetricFamily(f"twitterstream_{name}", help_text)
            gauge.add_metric([], float(values.get(name, 0)))
            yield gauge
        sources = self._read_sources() if self._read_sources is not None else {}
        for name, help_text in _SOURCE_COUNTERS.items():
            counter = CounterMetricFamily(f"twitterstream_{name}_by_source", help_text, labels=["source"])
            for source, figures in sorted(sources.items()):
                counter.add_metric([source], float(figures.get(name, 0)))
            yield counter


class WebCollector(Collector):
    """Figures of this web process: open live streams."""

    def __init__(self, open_streams: Callable[[], int]) -> None:
        self._open_streams = open_streams

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("twitterstream_live_streams", "Open live (SSE) streams in this process")
        gauge.add_metric([], float(self._open_streams()))
        yield gauge


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of a registry."""
    return generate_latest(registry)
