"""Run the real app and ingester in-process against a fake service, and wait for what users would see."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from fakes.waiting import eventually as eventually  # the one wait helper, re-exported for tests
from twitterstream import create_app
from twitterstream.config import Settings
from twitterstream.embed import EmbedFetcher
from twitterstream.ingest import Ingester
from twitterstream.sources import Sink, Source, source_factories
from twitterstream.store import Store


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
    try:
        yield Harness(app, ingester)
    finally:
        app.extensions["hub"].stop()
        if ingester is not None:
            ingester.stop()
        if embedder is not None:
            embedder.close()
        app.extensions["store"].close()
