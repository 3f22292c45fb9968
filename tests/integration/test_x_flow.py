"""The original design, end to end on the X API: the app and ingester against a fake X on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.x_api import FakeX
from fakes.x_render import x_401, x_429_too_many_connections, x_503
from harness import X_TOKEN, Harness, eventually, running_app, settings_for
from twitterstream.config import Secret
from twitterstream.embed import EmbedFetcher
from twitterstream.sources.x import XSource
from twitterstream.sources.x_rules import TAG_PREFIX
from twitterstream.store.sqlite import SQLiteStore


@pytest.fixture
def x_app(fake_x: FakeX, tmp_path: Path) -> Iterator[Harness]:
    settings = settings_for(x=fake_x)
    with running_app(settings, tmp_path, embedder=EmbedFetcher(settings.x_oembed_url)) as harness:
        yield harness


def watch_rule_in_place(fake: FakeX, value: str) -> None:
    fake.wait_for(
        lambda: any(r["value"] == value for r in fake.rules.values()) and fake.active_streams == 1,
        description=f"a rule {value!r} and an open stream",
    )


def test_search_nyc_shows_the_ten_latest_newest_first_with_sanitised_embeds(fake_x: FakeX, x_app: Harness) -> None:
    ids = [fake_x.post(f"post {n} about #NYC", deliver=False) for n in range(15)]
    fake_x.post("nothing to do with it #paris", deliver=False)

    form = x_app.client.post("/", data={"query": "#NYC"})
    assert form.status_code == 303
    assert form.headers["Location"] == "/results/%23NYC"
    page = x_app.client.get("/results/%23NYC")
    assert page.status_code == 200

    def ten_embedded() -> list[dict[str, Any]] | None:
        posts = x_app.results("#NYC")
        return posts if len(posts) == 10 and all(p["embed_html"] for p in posts) else None

    posts = eventually(ten_embedded, message="10 posts with their embeds")
    assert [p["id"] for p in posts] == list(reversed(ids))[:10]
    for post in posts:
        assert post["embed_html"].startswith('<blockquote class="twitter-tweet">')
        assert "<script" not in post["embed_html"]
    [rule] = fake_x.rules.values()
    assert rule["value"] == "#nyc"
    assert rule["tag"].startswith(TAG_PREFIX)
    assert fake_x.oembed_calls == 10  # each embed fetched once

    x_app.client.get("/results/%23NYC")  # a repeat view: served from the store
    assert fake_x.search_calls == 1 and fake_x.oembed_calls == 10


def test_a_streamed_post_reaches_the_query_and_is_embedded_once(fake_x: FakeX, x_app: Harness) -> None:
    x_app.client.get("/results/cats")
    watch_rule_in_place(fake_x, "cats")
    post_id = fake_x.post("look at these cats")
    fake_x.post("dogs only")
    eventually(lambda: [p["id"] for p in x_app.results("cats")] == [post_id])
    eventually(lambda: x_app.results("cats")[0]["embed_html"])
    assert fake_x.oembed_calls == 1
    metrics = dict(
        line.split(" ", 1)
        for line in x_app.client.get("/metrics").get_data(as_text=True).splitlines()
        if line and not line.startswith("#")
    )
    # The backfill search may race the stream and read the same post once more: received is 1 or 2.
    assert float(metrics["twitterstream_posts_received_total"]) in (1.0, 2.0)
    assert float(metrics["twitterstream_posts_matched_total"]) == 1.0  # stored once, whichever came first
    assert float(metrics["twitterstream_watched_queries"]) == 1.0


def test_a_gzip_encoded_stream_delivers_like_a_plain_one(fake_x: FakeX, x_app: Harness) -> None:
    fake_x.gzip_stream = True  # we send accept-encoding: gzip, so X may compress the stream
    x_app.client.get("/results/cats")
    watch_rule_in_place(fake_x, "cats")
    fake_x.wait_for(lambda: fake_x.search_calls == 1, description="the backfill done: only the stream can deliver")
    post_id = fake_x.post("gzipped cats \u00e9t\u00e9")
    eventually(lambda: [p["id"] for p in x_app.results("cats")] == [post_id])
    assert "gzip" in fake_x.requests_to("/2/tweets/search/stream")[-1].headers["accept-encoding"]


def test_a_drop_mid_stream_loses_nothing_and_duplicates_nothing(fake_x: FakeX, x_app: Harness) -> None:
    x_app.client.get("/results/%23live")
    watch_rule_in_place(fake_x, "#live")
    before = [fake_x.post(f"before the drop {n} #live") for n in range(3)]
    eventually(lambda: len(x_app.results("#live")) == 3)

    fake_x.drop_stream(mid_line=True)
    during = [fake_x.post(f"while disconnected {n} #live") for n in range(4)]  # no stream: search only
    fake_x.wait_for(lambda: fake_x.stream_connects >= 2 and fake_x.active_streams == 1, description="reconnected")
    after = [fake_x.post(f"after the reconnect {n} #live") for n in range(2)]

    expected = sorted(before + during + after, key=int, reverse=True)
    eventually(
        lambda: [p["id"] for p in x_app.results("#live", limit=100)] == expected, message="every post exactly once"
    )
    events = x_app.store.events_after("#live", "0")
    assert sorted(e.post_key for e in events if e.kind == "post") == sorted(f"x:{i}" for i in expected)
    search = fake_x.requests_to("/2/tweets/search/recent")[-1]
    assert search.param("since_id") == before[-1]  # the gap fill starts after the newest post seen
    assert fake_x.max_concurrent_streams == 1


def test_an_operational_disconnect_reconnects(fake_x: FakeX, x_app: Harness) -> None:
    x_app.client.get("/results/weather")
    watch_rule_in_place(fake_x, "weather")
    fake_x.operational_disconnect()
    fake_x.wait_for(lambda: fake_x.stream_connects == 2 and fake_x.active_streams == 1, description="reconnected")
    post_id = fake_x.post("weather is nice")
    eventually(lambda: [p["id"] for p in x_app.results("weather")] == [post_id])


def test_a_stalled_stream_is_replaced_after_the_read_timeout(fake_x: FakeX, x_app: Harness) -> None:
    x_app.client.get("/results/silence")
    watch_rule_in_place(fake_x, "silence")
    fake_x.stall()
    fake_x.wait_for(lambda: fake_x.stream_connects == 2, timeout=10, description="a new connection after the stall")


def test_a_second_ingester_never_opens_a_second_stream(fake_x: FakeX, x_app: Harness, tmp_path: Path) -> None:
    from twitterstream.ingest import Ingester

    x_app.client.get("/results/cats")
    watch_rule_in_place(fake_x, "cats")
    settings = x_app.settings
    second_store = SQLiteStore(tmp_path / "twitterstream.sqlite3")  # the same file, another connection
    second = Ingester(settings, second_store, lambda sink: XSource(settings, sink), tick=0.05, lock_ttl=2.0).start()
    try:
        eventually(lambda: second.status.state == "standby")
        x_app.client.get("/results/dogs")
        watch_rule_in_place(fake_x, "dogs")
        assert fake_x.stream_connects == 1 and fake_x.max_concurrent_streams == 1
    finally:
        second.stop()
        second_store.close()


def test_no_watched_query_means_no_stream_connection(fake_x: FakeX, x_app: Harness) -> None:
    eventually(lambda: x_app.status()["state"] == "idle")
    assert fake_x.stream_connects == 0
    assert x_app.client.get("/").status_code == 200
    assert fake_x.stream_connects == 0


def test_an_expired_lease_deletes_our_rule_and_leaves_others_alone(fake_x: FakeX, tmp_path: Path) -> None:
    foreign = fake_x.add_rule("someone else's rule", tag="theirs")
    settings = settings_for(x=fake_x, watch_grace_seconds=0.5)
    with running_app(settings, tmp_path) as app:
        app.client.get("/results/ephemeral")

        def added() -> bool:  # the lease is short: by the time we look, the rule may be gone already
            posts = fake_x.requests_to("/2/tweets/search/stream/rules", "POST")
            return any(rule["value"] == "ephemeral" for r in posts for rule in r.json().get("add", []))

        fake_x.wait_for(added, timeout=10, description="our rule added")
        fake_x.wait_for(lambda: fake_x.stream_connects >= 1, description="a stream opened for it")
        fake_x.wait_for(lambda: list(fake_x.rules) == [foreign], timeout=10, description="our rule deleted")
        fake_x.wait_for_connections(0)
        eventually(lambda: app.status()["state"] == "idle")


def test_a_wrong_token_stops_with_a_clear_status_and_no_retry_storm(fake_x: FakeX, tmp_path: Path) -> None:
    settings = settings_for(x=fake_x, x_bearer_token=Secret("wrong-token"))
    with running_app(settings, tmp_path) as app:
        app.client.get("/results/cats")
        status = eventually(lambda: app.status() if app.status()["state"] == "stopped" else None)
        assert "refused the bearer token (401" in status["reason"]
        assert "X_BEARER_TOKEN" in status["reason"]
        requests_then = len(fake_x.requests)
        page = app.client.get("/results/cats").get_data(as_text=True)
        assert "refused the bearer token" in page
        for _ in range(20):  # many ingester ticks later, nothing more was asked of X
            assert app.ingester is not None
            app.ingester.wake()
        eventually(lambda: app.published_state() == "stopped")
        assert len(fake_x.requests) == requests_then <= 2
        assert fake_x.stream_connects == 0


def test_a_401_on_the_stream_is_not_retried(fake_x: FakeX, x_app: Harness) -> None:
    fake_x.fail_next_connects(x_401())
    x_app.client.get("/results/cats")
    eventually(lambda: x_app.status()["state"] == "stopped")
    assert fake_x.stream_connects == 1


def test_too_many_connections_backs_off_a_minute_without_waiting_for_the_reset(fake_x: FakeX, x_app: Harness) -> None:
    fake_x.fail_next_connects(x_429_too_many_connections(reset_in=600))
    x_app.client.get("/results/cats")
    status = eventually(lambda: x_app.status() if x_app.status()["state"] == "reconnecting" else None)
    assert "another connection to the stream is still open" in status["reason"]
    assert 55 < status["retry_at"] - status["since"] < 70
    assert fake_x.stream_connects == 1


def test_a_server_error_backs_off_five_seconds(fake_x: FakeX, x_app: Harness) -> None:
    fake_x.fail_next_connects(x_503())
    x_app.client.get("/results/cats")
    status = eventually(lambda: x_app.status() if x_app.status()["state"] == "reconnecting" else None)
    assert "503" in status["reason"]
    assert 4 < status["retry_at"] - status["since"] < 6


def test_a_query_x_rejects_shows_xs_reason_on_the_page(fake_x: FakeX, x_app: Harness) -> None:
    # Valid for our parser, too long for X's rule limit at this fake (a stricter plan).
    fake_x.max_rule_length = 20
    x_app.client.get("/results/%22a%20long%20phrase%20that%20X%20refuses%22")
    problem = eventually(lambda: x_app.store.get_state("query_problems"))
    [message] = problem.values()
    assert message.startswith("X rejected this query:")
    page = x_app.client.get("/results/%22a%20long%20phrase%20that%20X%20refuses%22").get_data(as_text=True)
    assert "X rejected this query" in page


def test_the_bearer_token_appears_in_no_page_log_error_or_metric(
    fake_x: FakeX, x_app: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    x_app.client.get("/results/cats")
    watch_rule_in_place(fake_x, "cats")
    fake_x.post("cats again")
    eventually(lambda: x_app.results("cats"))
    fake_x.drop_stream()
    fake_x.wait_for(lambda: fake_x.stream_connects >= 2, description="reconnected")
    bodies = [
        x_app.client.get(path).get_data(as_text=True)
        for path in (
            "/",
            "/results/cats",
            "/readyz",
            "/metrics",
            "/healthz",
            "/nope",
            "/api/v1/results?q=cats",
            "/api/v1/results?q=cats%20or%20dogs",
            "/results/cats%20or%20dogs",
        )
    ]
    assert fake_x.requests_to("/2/tweets/search/stream")[0].headers["authorization"] == f"Bearer {X_TOKEN}"
    for text in [*bodies, caplog.text, repr(x_app.settings)]:
        assert X_TOKEN not in text


def test_a_restart_fills_what_was_posted_while_down(fake_x: FakeX, tmp_path: Path) -> None:
    settings = settings_for(x=fake_x)
    with running_app(settings, tmp_path) as app:
        app.client.get("/results/%23resume")
        watch_rule_in_place(fake_x, "#resume")
        first = fake_x.post("before the restart #resume")
        eventually(lambda: [p["id"] for p in app.results("#resume")] == [first])
    fake_x.wait_for_connections(0)
    missed = [fake_x.post(f"while down {n} #resume") for n in range(3)]
    searches_before = fake_x.search_calls
    with running_app(settings, tmp_path) as app:  # same instance folder: same store, same watched query
        expected = sorted([first, *missed], key=int, reverse=True)
        eventually(lambda: [p["id"] for p in app.results("#resume")] == expected, message="the gap filled")
        search = fake_x.requests_to("/2/tweets/search/recent")[-1]
        assert search.param("since_id") == first
        assert fake_x.search_calls == searches_before + 1  # a gap fill, not a second backfill
