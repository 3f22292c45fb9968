"""Several sources in one ingester: the source list, routing per source, and one source failing alone."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from harness import eventually
from helpers import make_post
from twitterstream.config import ConfigError, Settings, load_settings
from twitterstream.ingest import Ingester
from twitterstream.metrics import IngesterCollector
from twitterstream.query import Query
from twitterstream.sources.base import Sink, Source
from twitterstream.sources.errors import AuthRejected
from twitterstream.status import SourceState
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.store.state import IngesterState


# -- TWITTERSTREAM_SOURCE as a list ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"TWITTERSTREAM_SOURCE": "x,bluesky,mastodon"}, ("x", "bluesky", "mastodon")),
        ({"TWITTERSTREAM_SOURCE": " Bluesky , mastodon,bluesky "}, ("bluesky", "mastodon")),
        ({"TWITTERSTREAM_SOURCE": "replay"}, ("replay",)),
        ({"TWITTERSTREAM_SOURCE": "all"}, ("bluesky",)),  # no X token, no Mastodon setting: Bluesky alone
        ({"TWITTERSTREAM_SOURCE": "all", "X_BEARER_TOKEN": "t"}, ("x", "bluesky")),
        ({"TWITTERSTREAM_SOURCE": "all", "MASTODON_URL": "https://m.example"}, ("bluesky", "mastodon")),
        ({"TWITTERSTREAM_SOURCE": "replay,all", "X_BEARER_TOKEN": "t"}, ("replay", "x", "bluesky")),
        ({}, ("bluesky",)),
        ({"X_BEARER_TOKEN": "t"}, ("x",)),
    ],
)
def test_the_source_list_is_read_in_order_once_each(environ: dict[str, str], expected: tuple[str, ...]) -> None:
    settings = load_settings(environ, env_file=None)
    assert settings.source_names == expected
    assert settings.source == expected[0]


@pytest.mark.parametrize("value", ["x,myspace", ",", "x;bluesky"])
def test_a_source_list_with_an_unknown_name_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="TWITTERSTREAM_SOURCE"):
        load_settings({"TWITTERSTREAM_SOURCE": value}, env_file=None)


def test_settings_built_with_one_source_run_that_source() -> None:
    assert Settings(source="mastodon").source_names == ("mastodon",)


# -- the ingester with several sources ---------------------------------------------------------------------------
class LocalSource(Source):
    """Matched locally; delivers what a test hands it, with its own name on each post."""

    name: ClassVar[str] = "bluesky"

    def __init__(self, settings: Settings, sink: Sink) -> None:
        super().__init__(settings, sink)
        self.watched: dict[str, Query] = {}

    def run(self, stop: threading.Event) -> None:
        self.report(SourceState.CONNECTED)
        stop.wait()

    def set_watched(self, queries: Mapping[str, Query]) -> None:
        self.watched = dict(queries)

    def post(self, n: int, text: str) -> None:
        self.sink.deliver(make_post(n, text=text, source=self.name))


class CrashingSource(LocalSource):
    name: ClassVar[str] = "mastodon"

    def run(self, stop: threading.Event) -> None:
        raise RuntimeError("a bug")


class RefusedSource(LocalSource):
    name: ClassVar[str] = "x"
    routes_locally: ClassVar[bool] = False

    def run(self, stop: threading.Event) -> None:
        self.report(SourceState.STOPPED, str(AuthRejected("X refused the bearer token")))


@pytest.mark.parametrize("failing", [CrashingSource, RefusedSource])
def test_one_source_failing_leaves_the_other_delivering(failing: type[LocalSource], tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    made: dict[str, LocalSource] = {}

    def factory(cls: type[LocalSource]) -> object:
        def make(sink: Sink) -> Source:
            made[cls.name] = cls(Settings(), sink)
            return made[cls.name]

        return make

    settings = Settings(source="bluesky", sources=("bluesky", failing.name))
    ingester = Ingester(settings, store, {"bluesky": factory(LocalSource), failing.name: factory(failing)}, tick=0.05)
    ingester.start()
    try:
        store.watch("kites", "kites", "test", 1, 60)
        ingester.wake()
        eventually(lambda: ingester.snapshot().sources[failing.name]["state"] == "stopped")
        eventually(lambda: made["bluesky"].watched.keys() == {"kites"})
        made["bluesky"].post(1, "kites at dawn")
        made["bluesky"].post(2, "no match")
        made["bluesky"].post(3, "kites at dusk")
        ingester.flush()
        assert [p.id for p in store.latest("kites", 10)] == ["3", "1"]
        snapshot = ingester.snapshot()
        assert snapshot.sources["bluesky"]["state"] == "connected"
        assert snapshot.sources["bluesky"]["counters"]["posts_received"] == 3
        assert snapshot.sources[failing.name]["counters"]["posts_received"] == 0
        assert snapshot.status["source"] == "bluesky"  # the first source, for single-source readers
        assert ingester.alive
    finally:
        ingester.stop()
        store.close()


def test_a_query_goes_only_to_the_sources_that_can_evaluate_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    made: dict[str, LocalSource] = {}

    class Mastodon(LocalSource):
        name: ClassVar[str] = "mastodon"

    def make(cls: type[LocalSource]) -> object:
        return lambda sink: made.setdefault(cls.name, cls(Settings(), sink))

    settings = Settings(source="bluesky", sources=("bluesky", "mastodon"))
    ingester = Ingester(settings, store, {"bluesky": make(LocalSource), "mastodon": make(Mastodon)}, tick=0.05)
    ingester.start()
    try:
        store.watch("kites is:quote", "kites is:quote", "test", 1, 60)  # Mastodon posts carry no quote
        store.watch("kites", "kites", "test", 1, 60)
        ingester.wake()
        eventually(lambda: ingester.counters.watched_queries == 2)
        eventually(lambda: set(made["bluesky"].watched) == {"kites", "kites is:quote"})
        assert set(made["mastodon"].watched) == {"kites"}
        assert store.get_state("query_problems") in (None, {})
    finally:
        ingester.stop()
        store.close()


def test_each_source_is_told_the_queries_its_source_filter_keeps_as_they_read_there(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    made: dict[str, LocalSource] = {}

    class X(LocalSource):
        name: ClassVar[str] = "x"
        routes_locally: ClassVar[bool] = False

    def make(cls: type[LocalSource]) -> object:
        return lambda sink: made.setdefault(cls.name, cls(Settings(), sink))

    settings = Settings(source="x", sources=("x", "bluesky"))
    ingester = Ingester(settings, store, {"x": make(X), "bluesky": make(LocalSource)}, tick=0.05)
    ingester.start()
    try:
        for text in (
            "kites source:bluesky",
            "(source:x kites) OR dusk",
            "kites -source:x",
            "kites source:mastodon",
        ):
            store.watch(text, text, "test", 1, 60)
        ingester.wake()
        eventually(lambda: ingester.counters.watched_queries == 3)
        eventually(lambda: len(made["bluesky"].watched) == 3 and len(made["x"].watched) == 1)
        assert {key: q.key for key, q in made["x"].watched.items()} == {"(source:x kites) OR dusk": "kites OR dusk"}
        assert {key: q.key for key, q in made["bluesky"].watched.items()} == {
            "kites source:bluesky": "kites",
            "(source:x kites) OR dusk": "dusk",
            "kites -source:x": "kites",
        }
        problems = eventually(lambda: store.get_state("query_problems"))
        assert problems == {"kites source:mastodon": "source: leaves out every network running here (X and Bluesky)"}
        made["bluesky"].post(1, "kites at dusk")
        ingester.flush()
        assert [p.id for p in store.latest("kites source:bluesky", 10)] == ["1"]
        assert [p.id for p in store.latest("(source:x kites) OR dusk", 10)] == ["1"]
    finally:
        ingester.stop()
        store.close()


def test_per_source_counters_are_labelled_and_the_totals_stay() -> None:
    state = IngesterState("h", {}, {"posts_received": 5}, sources={})
    sources = {"x": {"posts_received": 2.0}, "bluesky": {"posts_received": 3.0}}
    families = {f.name: f for f in IngesterCollector(lambda: state.counters, lambda: sources).collect()}
    labelled = families["twitterstream_posts_received_by_source"].samples
    assert sorted((s.labels["source"], s.value) for s in labelled if s.name.endswith("_total")) == [
        ("bluesky", 3.0),
        ("x", 2.0),
    ]
    total = families["twitterstream_posts_received"].samples
    assert [(s.labels, s.value) for s in total if s.name.endswith("_total")] == [({}, 5.0)]


def test_a_web_process_reads_every_source_from_the_published_state(tmp_path: Path) -> None:
    """``ingest`` and ``web`` apart: the web knows the sources only from what the ingester published."""
    from twitterstream import create_app
    from twitterstream.store.state import INGESTER_STATE

    settings = Settings(source="bluesky", database_url=f"sqlite:///{tmp_path}/store.sqlite3")
    app = create_app({"SETTINGS": settings, "INSTANCE_PATH": str(tmp_path), "TESTING": True})
    try:
        x = {
            "source": "x",
            "state": "stopped",
            "reason": "X refused the bearer token",
            "counters": {"posts_received": 0},
        }
        bluesky = {"source": "bluesky", "state": "connected", "reason": "", "counters": {"posts_received": 7}}
        state = IngesterState("elsewhere", x, {"posts_received": 7}, sources={"x": x, "bluesky": bluesky})
        assert IngesterState.from_json(state.to_json()) == state
        app.extensions["store"].set_state(INGESTER_STATE, state.to_json())
        client = app.test_client()
        body = client.get("/readyz").get_json()
        assert body["ready"] and body["verdict"] == "degraded"
        assert body["sources"]["x"]["reason"] == "X refused the bearer token"
        assert body["sources"]["bluesky"]["state"] == "connected" and "counters" not in body["sources"]["bluesky"]
        # a query Bluesky cannot evaluate is accepted: X, which the ingester runs too, can
        assert client.get("/api/v1/results", query_string={"q": "cats is:verified"}).status_code == 200
        page = client.get("/results/cats%20is%3Averified").get_data(as_text=True)
        assert "On X; not on Bluesky (is:verified cannot be evaluated on its posts)" in page
        assert 'data-source="x"' in page and 'data-source="bluesky"' in page
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'twitterstream_posts_received_by_source_total{source="bluesky"} 7.0' in metrics
    finally:
        app.extensions["hub"].stop()
        app.extensions["store"].close()
