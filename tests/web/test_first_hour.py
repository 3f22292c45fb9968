"""A new user's first hour: the defaults never mislead (issue 15).

Forms work across workers without SECRET_KEY, the demo never shows in a live run, the pages follow the
ingester's source and say when there is no ingester, and the empty page says why it is empty.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from harness import eventually, running_app
from helpers import make_post
from twitterstream import create_app
from twitterstream.config import Settings
from twitterstream.ingest import Ingester
from twitterstream.sources import make_source
from twitterstream.sources.network import network_reason
from twitterstream.store import Store, default_sqlite_file, open_store
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.store.state import INGESTER_STATE, IngesterState
from twitterstream.web.context import INGESTER_STOPPED, NO_INGESTER


def _app(settings: Settings, instance: Path, **config: Any) -> Flask:
    return create_app({"SETTINGS": settings, "INSTANCE_PATH": str(instance), "TESTING": True, **config})


def _close(*apps: Flask) -> None:
    for app in apps:
        app.extensions["hub"].stop()
        app.extensions["store"].close()


def _publish(store: Store, source: str, state: str = "connected", reason: str = "", **flags: Any) -> None:
    status = {"source": source, "state": state, "reason": reason, "retry_at": None, "since": 0.0}
    store.set_state(INGESTER_STATE, IngesterState("elsewhere", status, {}, **flags).to_json())


# -- 1. without SECRET_KEY, every worker (and replica) on one store signs forms with the same key ----------
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_without_secret_key_a_form_made_by_one_worker_is_accepted_by_another(
    backend: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    if backend == "redis":
        import redis

        url = request.getfixturevalue("redis_server")
        redis.Redis.from_url(url).flushdb()  # a private redis-server: start empty
        settings = settings.with_overrides(database_url=url)
    assert settings.secret_key is None
    one, two = _app(settings, tmp_path), _app(settings, tmp_path)  # two workers: each opens the store itself
    try:
        assert "SECRET_KEY is not set" in caplog.text  # the warning stays
        first, second = one.test_client(), two.test_client()
        page = first.get("/").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        cookie = first.get_cookie("session")
        assert cookie is not None
        second.set_cookie("session", cookie.value)
        answer = second.post("/", data={"query": "cats", "csrf_token": token})
        assert answer.status_code == 303, answer.get_data(as_text=True)
        assert one.secret_key == two.secret_key
    finally:
        _close(one, two)


def test_a_set_secret_key_is_used_as_it_is(settings: Settings, tmp_path: Path) -> None:
    from twitterstream.config import Secret

    app = _app(settings.with_overrides(secret_key=Secret("chosen-key")), tmp_path)
    try:
        assert app.secret_key == "chosen-key"
        assert app.extensions["store"].get_state("web_secret_key") is None  # nothing generated, nothing kept
    finally:
        _close(app)


# -- 2. the demo's posts stay in the demo -----------------------------------------------------------------
def test_replayed_posts_never_show_in_a_live_run_on_the_default_store(settings: Settings, tmp_path: Path) -> None:
    assert default_sqlite_file("replay") != default_sqlite_file("bluesky")
    with running_app(settings, tmp_path, start_ingester=False) as demo:  # source=replay, no DATABASE_URL
        demo.store.save_post(make_post(1, "demo post #nyc"), ["#nyc"])
        assert [p["id"] for p in demo.results("#nyc")] == ["1"]
        assert isinstance(demo.store, SQLiteStore) and demo.store.path.endswith(default_sqlite_file("replay"))
    live = settings.with_overrides(source="bluesky")
    with running_app(live, tmp_path, start_ingester=False) as run:
        assert run.results("#nyc") == []
        assert run.store.pace("#nyc", 1) == [0]
        assert 'data-id="1"' not in run.client.get("/results/%23nyc").get_data(as_text=True)


def test_a_database_url_is_used_whatever_the_source(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/chosen.sqlite3", tmp_path / "instance", "replay")
    try:
        assert isinstance(store, SQLiteStore) and store.path.endswith("chosen.sqlite3")
    finally:
        store.close()


# -- 3. the web follows the ingester's source; no ingester, or a stopped one, is said so -------------------
@pytest.fixture
def bluesky_web(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """A web app configured for Bluesky (no ingester in its process) on the test's instance store."""
    app = _app(settings.with_overrides(source="bluesky"), tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    _close(app)


def test_the_web_follows_the_source_the_ingester_published(bluesky_web: Flask) -> None:
    _publish(bluesky_web.extensions["store"], "replay")
    client = bluesky_web.test_client()
    answer = client.get("/api/v1/results?q=%24TSLA")  # cashtags: replay evaluates them, Bluesky cannot
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["source"] == "replay"
    assert client.post("/", data={"query": "$TSLA"}).status_code == 303
    page = client.get("/results/%24TSLA").get_data(as_text=True)
    assert 'data-source="replay"' in page and "bluesky" not in page.lower().replace("bluesky-embed", "")
    assert client.get("/readyz").get_json()["source"]["source"] == "replay"


def test_without_any_ingester_the_pages_say_so_not_that_the_service_is_down(bluesky_web: Flask) -> None:
    client = bluesky_web.test_client()
    page = client.get("/results/cats").get_data(as_text=True)
    assert "No ingester is running" in page and "no ingester is running: start" in page
    assert "Bluesky is down" not in page and "is not delivering posts" not in page
    assert ">no ingester<" in page  # the header's state word
    assert client.get("/readyz").get_json()["source"]["reason"] == NO_INGESTER


def test_a_clean_ingester_stop_shows_at_once_on_pages_and_live_streams(settings: Settings, bluesky_web: Flask) -> None:
    store = bluesky_web.extensions["store"]
    hub = bluesky_web.extensions["hub"]
    ingester = Ingester(settings, store, lambda sink: make_source(settings, sink), None, tick=0.05, lock_ttl=2.0)
    ingester.start()
    client = bluesky_web.test_client()
    try:
        eventually(lambda: client.get("/readyz").get_json()["source"]["ingester"] == "running")
        assert client.get("/api/v1/results?q=cats").get_json()["source"] == "replay"
        subscription = hub.subscribe("cats", "cats")
        eventually(lambda: hub.status.get("ingester") == "running")
    finally:
        ingester.stop()
    ready = client.get("/readyz").get_json()["source"]  # at once, not after the 30 s of silence
    assert (ready["state"], ready["ingester"], ready["reason"]) == ("stopped", "stopped", INGESTER_STOPPED)
    assert "The ingester has stopped" in client.get("/results/cats").get_data(as_text=True)
    while True:  # the open stream hears it within the hub's one-second status refresh
        message = subscription.get(timeout=3.0)
        assert message is not None, "no status message within 3 s of the stop"
        if b"event: status" in message[1] and b'"ingester":"stopped"' in message[1]:
            break
    hub.unsubscribe(subscription)


# -- 4. offline: the empty page says the source cannot be reached, and suggests the demo -------------------
def test_an_offline_run_says_it_cannot_reach_bluesky_and_suggests_the_demo(bluesky_web: Flask) -> None:
    try:
        raise OSError("connect") from socket.gaierror(-3, "Temporary failure in name resolution")
    except OSError as exc:
        reason = network_reason(exc)
    assert "(is this machine online?)" in reason
    _publish(bluesky_web.extensions["store"], "bluesky", "reconnecting", reason)
    page = bluesky_web.test_client().get("/results/cats").get_data(as_text=True)
    assert "cannot reach Bluesky" in page and "make demo" in page
    assert "had no match" not in page
    assert "((" not in page and "))" not in page
    assert f"Reconnecting to Bluesky — {reason}" in page


def test_a_connected_source_says_its_recent_posts_had_no_match(bluesky_web: Flask) -> None:
    _publish(bluesky_web.extensions["store"], "bluesky", "connected", "Jetstream example")
    page = bluesky_web.test_client().get("/results/cats").get_data(as_text=True)
    assert "The recent posts from Bluesky had no match" in page
    assert "make demo" not in page


# -- 5. the API says since when a query is watched -----------------------------------------------------
def test_the_first_api_answer_says_since_when_the_query_is_watched(bluesky_web: Flask) -> None:
    client = bluesky_web.test_client()
    before = datetime.now(UTC).replace(microsecond=0)
    first = client.get("/api/v1/results?q=cats").get_json()
    assert first["posts"] == []
    since = datetime.strptime(first["watching_since"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert first["watching_since"].endswith("Z")
    assert before <= since <= datetime.now(UTC)
    assert client.get("/api/v1/results?q=cats").get_json()["watching_since"] == first["watching_since"]


# -- 7. /results/ and /results/#nyc (the browser sends /results/) go to the form with a hint --------------
@pytest.mark.parametrize("path", ["/results", "/results/"])
def test_results_without_a_query_go_to_the_form_with_a_hint_about_hashes(bluesky_web: Flask, path: str) -> None:
    client = bluesky_web.test_client()
    answer = client.get(path)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    form = client.get("/").get_data(as_text=True)
    assert "Type a search term" in form and "%23" in form
