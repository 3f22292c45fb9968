"""The ingester's writer: posts stored in the source's order, once, a burst in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from harness import eventually
from helpers import make_post
from twitterstream.config import Settings
from twitterstream.ingest import Ingester
from twitterstream.models import Post
from twitterstream.sources.base import Sink, Source
from twitterstream.store.sqlite import SQLiteStore


class GatedStore(SQLiteStore):
    """A SQLite store whose first batch of posts waits at a gate, and that records every batch."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def save_matches(self, matches: Sequence[tuple[Post, Sequence[str]]]) -> list[list[str]]:
        self.entered.set()
        self.gate.wait(10)
        self.batches.append([post.id for post, _ in matches])
        return super().save_matches(matches)


class ScriptedSource(Source):
    """Runs ``script`` against the sink, then waits to be stopped."""

    name = "replay"
    routes_locally = False

    def __init__(self, settings: Settings, sink: Sink, script: Callable[[Sink], None]) -> None:
        super().__init__(settings, sink)
        self.script = script
        self.done = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self.script(self.sink)
        self.done.set()
        stop.wait()


def test_a_burst_queued_behind_a_slow_write_is_stored_in_one_transaction_in_order(tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "store.sqlite3")

    def script(sink: Sink) -> None:
        sink.deliver(make_post(1), ["q"])  # taken by the writer at once, held at the gate
        assert store.entered.wait(10)
        for n in range(2, 52):
            sink.deliver(make_post(n), ["q"])
        sink.deliver(make_post(2), ["q"])  # a replay of a post already queued: stored once
        sink.delete("x:3")
        sink.save_state("replay", {"offset": 51})
        sink.deliver(make_post(52), ["q"])

    sources: list[ScriptedSource] = []

    def factory(sink: Ingester) -> Source:
        sources.append(ScriptedSource(Settings(source="replay"), sink, script))
        return sources[-1]

    ingester = Ingester(Settings(source="replay"), store, factory, tick=0.05).start()
    try:
        eventually(lambda: bool(sources) and sources[0].done.is_set())
        store.gate.set()
        ingester.flush()
        assert store.batches == [["1"], [str(n) for n in range(2, 52)] + ["2"], ["52"]]
        expected = [str(n) for n in range(52, 0, -1) if n != 3]
        assert [post.id for post in store.latest("q", 100)] == expected
        assert store.get_state("source:replay") == {"offset": 51}
        kinds = [(event.kind, event.post_key) for event in store.events_after("q", "0")]
        assert kinds.count(("post", "x:2")) == 1
        assert kinds.index(("delete", "x:3")) > kinds.index(("post", "x:51"))
    finally:
        ingester.stop()
        store.close()
