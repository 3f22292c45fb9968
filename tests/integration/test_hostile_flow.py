"""Hostile ids from every service never reach the store, a page or a live stream; their neighbours do.

The fakes send posts whose id, DID, record key, acct or URL breaks the service's syntax, most of them
carrying a whole SSE event (``fakes.hostile``), between two good posts, over the real wire protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

from fakes import hostile
from fakes.jetstream import FakeJetstream, fake_did, make_post_event, new_tid
from fakes.mastodon import FakeMastodon
from fakes.x_api import FakeX
from harness import Harness, eventually, running_app, settings_for

QUERY = "#hostile"


@contextmanager
def live_stream(harness: Harness, query: str) -> Iterator[Iterator[str]]:
    """The lines of ``/api/v1/stream`` for ``query``, over real HTTP (the app on 127.0.0.1, port 0)."""
    with (
        harness.served() as url,
        httpx.stream("GET", f"{url}/api/v1/stream", params={"q": query}, timeout=10) as answer,
    ):
        lines = answer.iter_lines()
        assert next(lines) == "retry: 2000"
        yield lines


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
def test_x_stream_drops_hostile_ids_and_keeps_the_neighbours(fake_x: FakeX, tmp_path: Path) -> None:
    with running_app(settings_for(x=fake_x), tmp_path) as harness:
        harness.watch(QUERY)
        fake_x.wait_for(lambda: fake_x.active_streams == 1 and len(fake_x.rules) == 1, description="rule and stream")

        def publish() -> list[str]:
            first = fake_x.post("good one #hostile")
            for post, user in hostile.x_posts(1):
                fake_x.publish(post, users=[user])
            return [first, fake_x.post("good two #hostile")]

        check_wall(harness, publish, invalid=len(hostile.x_posts(1)))


def test_x_backfill_drops_hostile_ids_from_a_search_page(fake_x: FakeX, tmp_path: Path) -> None:
    good = [fake_x.post("older good #hostile", deliver=False)]
    for post, user in hostile.x_posts(2):
        fake_x.publish(post, users=[user], deliver=False)
    good.append(fake_x.post("newer good #hostile", deliver=False))
    with running_app(settings_for(x=fake_x), tmp_path) as harness:
        assert harness.results(QUERY) == []  # watching starts the backfill
        assert harness.ingester is not None
        ingester = harness.ingester
        eventually(lambda: [p["id"] for p in harness.results(QUERY)] == list(reversed(good)), message="backfill")
        eventually(lambda: ingester.counters.posts_invalid == len(hostile.x_posts(2)))
        page = harness.client.get("/results/%23hostile").get_data(as_text=True)
        assert hostile.HOSTILE_TEXT not in page and "owned" not in page


# -- Bluesky ----------------------------------------------------------------------------------------
def test_jetstream_drops_hostile_dids_and_record_keys_and_keeps_the_neighbours(
    fake_jetstream: FakeJetstream, tmp_path: Path
) -> None:
    alice = fake_did("alice.bsky.social")
    with running_app(settings_for(jetstream=fake_jetstream), tmp_path) as harness:
        fake_jetstream.wait_for_connections(1)
        harness.watch(QUERY)

        def publish() -> list[str]:
            rkeys = [new_tid(), new_tid()]
            fake_jetstream.publish(make_post_event(alice, rkeys[0], "good one #hostile"))
            for event in hostile.jetstream_events():
                fake_jetstream.publish(event)
            fake_jetstream.publish(make_post_event(alice, rkeys[1], "good two #hostile"))
            return [f"{alice}/{rkey}" for rkey in rkeys]

        check_wall(harness, publish, invalid=len(hostile.jetstream_events()))


# -- Mastodon ---------------------------------------------------------------------------------------
def test_mastodon_drops_hostile_ids_accts_and_urls_and_keeps_the_neighbours(
    fake_mastodon: FakeMastodon, tmp_path: Path
) -> None:
    with running_app(settings_for(mastodon=fake_mastodon), tmp_path) as harness:
        fake_mastodon.wait_for_connections(1)
        harness.watch(QUERY)
        fake_mastodon.wait_for(
            lambda: (
                any(r.params.get("tag") == "hostile" for r in fake_mastodon.requests)
                and fake_mastodon.active_streams == 1
            )
        )

        def publish() -> list[str]:
            first = fake_mastodon.make_status("<p>good one #hostile</p>", tags=["hostile"])
            fake_mastodon.publish(first)
            for status in hostile.mastodon_statuses(fake_mastodon.public_url):
                fake_mastodon.publish(status)
            second = fake_mastodon.make_status("<p>good two #hostile</p>", tags=["hostile"])
            fake_mastodon.publish(second)
            return [first["id"], second["id"]]

        check_wall(harness, publish, invalid=len(hostile.mastodon_statuses(fake_mastodon.public_url)))
