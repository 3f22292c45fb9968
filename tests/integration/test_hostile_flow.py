"""Hostile ids from every service never reach the store, a page or a live stream; their neighbours do.

The fakes send posts whose id, DID, record key, acct or URL breaks the service's syntax, most of them
carrying a whole SSE event (``fakes.hostile``), between two good posts, over the real wire protocols.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from werkzeug.serving import make_server

from fakes import hostile
from fakes.jetstream import FakeJetstream, fake_did, make_post_event, new_tid
from fakes.mastodon import FakeMastodon
from fakes.x_api import FakeX
from fakes.x_posts import make_post
from harness import Harness, eventually, running_app
from twitterstream.config import Secret, Settings

TOKEN = "test-token-hostile"
QUERY = "#hostile"


@contextmanager
def live_stream(harness: Harness, query: str) -> Iterator[Iterator[str]]:
    """The lines of ``/api/v1/stream`` for ``query``, over real HTTP (the app on 127.0.0.1, port 0)."""
    server = make_server("127.0.0.1", 0, harness.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/v1/stream"
        with httpx.stream("GET", url, params={"q": query}, timeout=10) as response:
            lines = response.iter_lines()
            assert next(lines) == "retry: 2000"
            yield lines
    finally:
        harness.app.extensions["hub"].stop()  # ends the open stream before the server stops
        server.shutdown()
        thread.join(5)


def events_until(lines: Iterator[str], last_id: str) -> tuple[list[dict[str, str]], str]:
    """Every event up to the post ``last_id`` (status events left out), and the raw text read."""
    events: list[dict[str, str]] = []
    raw: list[str] = []
    current: dict[str, str] = {}
    for line in lines:
        raw.append(line)
        if line == "":
            if current and current.get("event") != "status":
                events.append(current)
                if current.get("event") == "post" and current.get("id") == last_id:
                    return events, "\n".join(raw)
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError("the stream ended early")


def watched(harness: Harness, query: str) -> None:
    assert harness.results(query) == []
    assert harness.ingester is not None
    ingester = harness.ingester
    eventually(lambda: ingester.counters.watched_queries == 1, message=f"watching {query}")


def check_wall(harness: Harness, publish: Callable[[], list[str]], invalid: int) -> None:
    """``publish`` sends good and hostile posts and returns the good ids, oldest first. Only those reach the
    stream, the store and the page; every hostile one is counted in ``posts_invalid``."""
    with live_stream(harness, QUERY) as lines:
        good = publish()
        events, raw = events_until(lines, good[-1])
    assert [(e["event"], e.get("id")) for e in events] == [("post", post_id) for post_id in good]
    assert all(orjson.loads(e["data"])["id"] == e["id"] for e in events)
    assert hostile.HOSTILE_TEXT not in raw and "owned" not in raw

    assert harness.ingester is not None
    ingester = harness.ingester
    eventually(lambda: ingester.counters.posts_invalid == invalid, message=f"{invalid} posts counted as invalid")
    assert [p["id"] for p in harness.results(QUERY, limit=100)] == list(reversed(good))
    page = harness.client.get("/results/%23hostile").get_data(as_text=True)
    assert all(f'data-id="{post_id}"' in page for post_id in good)
    assert hostile.HOSTILE_TEXT not in page and "owned" not in page and "tracker.example" not in page
    metrics = harness.client.get("/metrics").get_data(as_text=True)
    assert f"twitterstream_posts_invalid_total {float(invalid)}" in metrics
    assert ingester.counters.posts_received == len(good)


# -- X ----------------------------------------------------------------------------------------------
@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX(bearer_token=TOKEN, keepalive_interval=0.5) as fake:
        yield fake


def x_app(fake: FakeX, tmp_path: Path) -> Any:
    settings = Settings(
        source="x",
        x_bearer_token=Secret(TOKEN),
        x_api_url=fake.base_url,
        x_oembed_url=fake.oembed_url,
        x_stream_read_timeout=2.0,
        watch_grace_seconds=60,
    )
    return running_app(settings, tmp_path)


def x_publish(fake: FakeX, text: str, post_id: str | None = None, *, deliver: bool = True) -> str:
    post, user = make_post(post_id, text)
    fake.publish(post, users=[user], deliver=deliver)
    return str(post["id"])


def test_x_stream_drops_hostile_ids_and_keeps_the_neighbours(fake_x: FakeX, tmp_path: Path) -> None:
    with x_app(fake_x, tmp_path) as harness:
        watched(harness, QUERY)
        fake_x.wait_for(lambda: fake_x.active_streams == 1 and len(fake_x.rules) == 1, description="rule and stream")

        def publish() -> list[str]:
            first = x_publish(fake_x, "good one #hostile")
            for post, user in hostile.x_posts(1):
                fake_x.publish(post, users=[user])
            return [first, x_publish(fake_x, "good two #hostile")]

        check_wall(harness, publish, invalid=len(hostile.x_posts(1)))


def test_x_backfill_drops_hostile_ids_from_a_search_page(fake_x: FakeX, tmp_path: Path) -> None:
    good = [x_publish(fake_x, "older good #hostile", deliver=False)]
    for post, user in hostile.x_posts(2):
        fake_x.publish(post, users=[user], deliver=False)
    good.append(x_publish(fake_x, "newer good #hostile", deliver=False))
    with x_app(fake_x, tmp_path) as harness:
        assert harness.results(QUERY) == []  # watching starts the backfill
        assert harness.ingester is not None
        ingester = harness.ingester
        eventually(lambda: [p["id"] for p in harness.results(QUERY)] == list(reversed(good)), message="backfill")
        eventually(lambda: ingester.counters.posts_invalid == len(hostile.x_posts(2)))
        page = harness.client.get("/results/%23hostile").get_data(as_text=True)
        assert hostile.HOSTILE_TEXT not in page and "owned" not in page


# -- Bluesky ----------------------------------------------------------------------------------------
def test_jetstream_drops_hostile_dids_and_record_keys_and_keeps_the_neighbours(tmp_path: Path) -> None:
    alice = fake_did("alice.bsky.social")
    settings = Settings(
        source="bluesky",
        bluesky_watchdog_seconds=5.0,
        bluesky_profile_url="http://127.0.0.1:9",  # nothing listens: handles stay unknown
        watch_grace_seconds=60,
    )
    with (
        FakeJetstream() as jetstream,
        running_app(settings.with_overrides(bluesky_jetstream_urls=(jetstream.url,)), tmp_path) as harness,
    ):
        jetstream.wait_for(lambda: jetstream.active == 1)
        watched(harness, QUERY)

        def publish() -> list[str]:
            rkeys = [new_tid(), new_tid()]
            jetstream.publish(make_post_event(alice, rkeys[0], "good one #hostile"))
            for event in hostile.jetstream_events():
                jetstream.publish(event)
            jetstream.publish(make_post_event(alice, rkeys[1], "good two #hostile"))
            return [f"{alice}/{rkey}" for rkey in rkeys]

        check_wall(harness, publish, invalid=len(hostile.jetstream_events()))


# -- Mastodon ---------------------------------------------------------------------------------------
def test_mastodon_drops_hostile_ids_accts_and_urls_and_keeps_the_neighbours(tmp_path: Path) -> None:
    with FakeMastodon(access_token=TOKEN, heartbeat_interval=0.2) as mastodon:
        settings = Settings(
            source="mastodon",
            mastodon_url=mastodon.base_url,
            mastodon_access_token=Secret(TOKEN),
            mastodon_read_timeout=2.0,
            watch_grace_seconds=60,
        )
        with running_app(settings, tmp_path) as harness:
            mastodon.wait_for(lambda: mastodon.active_streams == 1)
            watched(harness, QUERY)
            mastodon.wait_for(
                lambda: (
                    any(r.params.get("tag") == "hostile" for r in mastodon.requests) and mastodon.active_streams == 1
                )
            )

            def publish() -> list[str]:
                first = mastodon.make_status("<p>good one #hostile</p>", tags=["hostile"])
                mastodon.publish(first)
                for status in hostile.mastodon_statuses(mastodon.public_url):
                    mastodon.publish(status)
                second = mastodon.make_status("<p>good two #hostile</p>", tags=["hostile"])
                mastodon.publish(second)
                return [first["id"], second["id"]]

            check_wall(harness, publish, invalid=len(hostile.mastodon_statuses(mastodon.public_url)))
