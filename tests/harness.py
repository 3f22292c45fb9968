"""Run the real app and ingester in-process against the fake services, and wait for what users would see."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from fakes.jetstream import FakeJetstream
from fakes.mastodon import FakeMastodon
from fakes.waiting import eventually as eventually  # the one wait helper, re-exported for tests
from fakes.x_api import FakeX
from twitterstream import create_app
from twitterstream.config import Secret, Settings
from twitterstream.embed import EmbedFetcher
from twitterstream.ingest import Ingester
from twitterstream.sources import Sink, Source, source_factories
from twitterstream.store import Store

#: The tokens the fake services of ``conftest.py`` accept (X's is distinctive: tests look for it in pages and logs).
X_TOKEN = "test-token-Zq9-SECRET"
MASTODON_TOKEN = "test-token"
#: Bluesky handles are looked up in the background; nothing answers here, so the DID stays.
NO_PROFILES = "http://127.0.0.1:9"


def settings_for(
    *,
    x: FakeX | None = None,
    jetstream: FakeJetstream | Sequence[str] | None = None,
    mastodon: FakeMastodon | None = None,
    profiles: str = NO_PROFILES,
    **overrides: Any,
) -> Settings:
    """Settings of an app whose sources are these fakes (``jetstream``: a fake, or host URLs tried in order),
    with the tokens above, short read timeouts (2 s; Bluesky's watchdog 5 s) and a minute of watch grace."""
    names = tuple(name for name, fake in (("x", x), ("bluesky", jetstream), ("mastodon", mastodon)) if fake)
    values: dict[str, Any] = {"source": names[0], "watch_grace_seconds": 60}
    if len(names) > 1:
        values["sources"] = names
    if x is not None:
        values.update(
            x_bearer_token=Secret(X_TOKEN), x_api_url=x.base_url, x_oembed_url=x.oembed_url, x_stream_read_timeout=2.0
        )
    if jetstream is not None:
        urls = (jetstream.url,) if isinstance(jetstream, FakeJetstream) else tuple(jetstream)
        values.update(bluesky_jetstream_urls=urls, bluesky_watchdog_seconds=5.0, bluesky_profile_url=profiles)
    if mastodon is not None:
        values.update(
            mastodon_url=mastodon.base_url, mastodon_access_token=Secret(MASTODON_TOKEN), mastodon_read_timeout=2.0
        )
    values.update(overrides)
    return Settings(**values)


class Harness:
    """The app (test client), its store and a running ingester."""

    def __init__(self, app: Flask, ingester: Ingester | None) -> None:
        self.app = app
        self.ingester = ingester
        self.client: FlaskClient = app.test_client()

    @property
    def store(self) -> Store:
        store: Store = self.app.extensions["store"]
        return store

    @property
    def settings(self) -> Settings:
        settings: Settings = self.app.config["SETTINGS"]
        return settings

    def results(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/results", query_string={"q": query, "limit": limit})
        assert response.status_code == 200, response.get_data(as_text=True)
        posts: list[dict[str, Any]] = response.get_json()["posts"]
        return posts

    def ids(self, query: str) -> list[str]:
        """The ids of the query's stored posts, newest first (up to 100)."""
        return [post["id"] for post in self.results(query, limit=100)]

    def watch(self, *queries: str) -> None:
        """Open each query's results (which watches it) and wait until the ingester routes to all of them."""
        for query in queries:
            self.results(query)
        ingester = self.ingester
        assert ingester is not None
        eventually(lambda: ingester.counters.watched_queries == len(queries), message=f"watching {queries}")

    def received(self) -> int:
        """Posts the ingester received, every one of them stored by the time this returns."""
        assert self.ingester is not None
        count = self.ingester.counters.posts_received
        self.ingester.flush()
        return count

    @contextmanager
    def served(self) -> Iterator[str]:
        """The app on a real HTTP server (threaded werkzeug) on 127.0.0.1, port 0; yields its base URL.

        At the end the live hubs stop first, so that open streams end before the server does."""
        server = make_server("127.0.0.1", 0, self.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            self.stop_hubs()
            server.shutdown()
            thread.join(5)

    def stop_hubs(self) -> None:
        """End every open live stream (query and wall streams)."""
        for name in ("hub", "wall_hub"):
            self.app.extensions[name].stop()

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = self.client.get("/readyz").get_json()
        return body["source"]

    def published_state(self) -> str | None:
        """The source state the ingester last published to the store (None before its first publish)."""
        published = self.store.get_state("ingester")
        return str(published["status"]["state"]) if published else None


@contextmanager
def running_app(
    settings: Settings,
    instance_path: Path,
    *,
    source_factory: Callable[[Any], Source] | Mapping[str, Callable[[Sink], Source]] | None = None,
    embedder: EmbedFetcher | None = None,
    start_ingester: bool = True,
    store: Store | None = None,
    tick: float = 0.05,
) -> Iterator[Harness]:
    """The app (and, unless told not to, an ingester) for the ``with`` block; then everything stopped."""
    config: dict[str, Any] = {
        "SETTINGS": settings,
        "INSTANCE_PATH": str(instance_path),
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,  # CSRF has its own tests
    }
    if store is not None:
        config["STORE"] = store
    app = create_app(config)
    ingester = None
    if start_ingester:
        ingester = Ingester(
            settings,
            app.extensions["store"],
            source_factory or source_factories(settings),
            embedder,
            tick=tick,
            lock_ttl=2.0,
        )
        app.extensions["ingester"] = ingester
        ingester.start()
    harness = Harness(app, ingester)
    try:
        yield harness
    finally:
        harness.stop_hubs()
        if ingester is not None:
            ingester.stop()
        if embedder is not None:
            embedder.close()
        app.extensions["store"].close()
