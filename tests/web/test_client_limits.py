"""Per-client limits (issue 11), on both stores, with several client addresses (127.0.0.2, 127.0.0.3, ...)
and through a trusted proxy: new queries per minute, open live streams per client, watched queries in all."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.test import TestResponse

from harness import Harness, eventually, running_app
from twitterstream.config import Settings
from twitterstream.store import Store
from twitterstream.store.redis import RedisStore
from twitterstream.store.sqlite import SQLiteStore


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.with_overrides(new_queries_per_minute=3, streams_per_client=2, max_queries=5)


@pytest.fixture
def site(limited: Settings, tmp_path: Path, any_store: Store) -> Iterator[Harness]:
    with running_app(limited, tmp_path, start_ingester=False, store=any_store) as harness:
        yield harness


def get(site: Harness, path: str, client: str, **options: Any) -> TestResponse:
    return site.client.get(path, environ_base={"REMOTE_ADDR": client}, **options)


def open_stream(site: Harness, query: str, client: str) -> TestResponse:
    """An open live stream (its first bytes read, as a server does); close it with ``.close()``."""
    answer = get(site, "/api/v1/stream", client, query_string={"q": query}, buffered=False)
    if answer.status_code == 200:
        assert next(iter(answer.response)).startswith(b"retry:")
    return answer


def test_a_client_starts_its_new_queries_per_minute_then_gets_429_on_the_api_and_a_page(site: Harness) -> None:
    assert get(site, "/results/cats", "127.0.0.2").status_code == 200
    assert get(site, "/api/v1/results?q=dogs", "127.0.0.2").status_code == 200
    stream = open_stream(site, "birds", "127.0.0.2")
    assert stream.status_code == 200
    stream.close()

    api = get(site, "/api/v1/results?q=fish", "127.0.0.2")
    assert api.status_code == 429
    assert 1 <= int(api.headers["Retry-After"]) <= 60
    error = api.get_json()["error"]
    assert error["position"] is None and "3 new searches within a minute" in error["message"]
    page = get(site, "/results/fish", "127.0.0.2")
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 60
    text = page.get_data(as_text=True)
    assert page.mimetype == "text/html" and re.search(r"Please wait (1 minute|\d+ seconds?) before", text)
    assert get(site, "/api/v1/stream?q=fish", "127.0.0.2").status_code == 429

    # a query already watched is never refused, by page, API or stream
    assert get(site, "/results/dogs", "127.0.0.2").status_code == 200
    assert get(site, "/api/v1/results?q=cats", "127.0.0.2").status_code == 200
    stream = open_stream(site, "cats", "127.0.0.2")
    assert stream.status_code == 200
    stream.close()
    # another address has its own count; a refused query was not counted or watched
    assert get(site, "/results/fish", "127.0.0.3").status_code == 200
    assert "newt" not in {w.key for w in site.store.watched()}
    assert get(site, "/results/newt", "127.0.0.2").status_code == 429


def test_a_bad_query_is_a_400_and_uses_none_of_the_clients_new_queries(site: Harness) -> None:
    for _ in range(5):
        assert get(site, "/api/v1/results?q=(cats", "127.0.0.2").status_code == 400
    for query in ("a", "b", "c"):
        assert get(site, f"/results/{query}", "127.0.0.2").status_code == 200


@contextmanager
def second_replica(site: Harness) -> Iterator[Harness]:
    """Another web process on the same store (a gunicorn worker, a replica behind the load balancer)."""
    store = site.store
    other: Store = SQLiteStore(store.path) if isinstance(store, SQLiteStore) else RedisStore(store.url)  # type: ignore[attr-defined]
    with running_app(site.settings, Path(site.app.instance_path), start_ingester=False, store=other) as replica:
        yield replica


def test_every_web_process_on_the_store_shares_the_counts(site: Harness) -> None:
    with second_replica(site) as replica:
        assert get(site, "/results/cats", "127.0.0.2").status_code == 200
        assert get(replica, "/results/dogs", "127.0.0.2").status_code == 200
        assert get(site, "/results/birds", "127.0.0.2").status_code == 200
        assert get(replica, "/results/fish", "127.0.0.2").status_code == 429
        one, two = open_stream(site, "cats", "127.0.0.4"), open_stream(replica, "cats", "127.0.0.4")
        assert get(site, "/api/v1/stream?q=cats", "127.0.0.4").status_code == 429
        assert get(replica, "/api/v1/stream?q=cats", "127.0.0.4").status_code == 429
        one.close()
        three = open_stream(replica, "cats", "127.0.0.4")
        assert three.status_code == 200
        two.close()
        three.close()


def test_past_max_queries_a_new_query_is_refused_with_503_in_words_and_watched_ones_keep_working(
    site: Harness,
) -> None:
    for n in range(5):  # five clients, one new query each: the instance's five
        assert get(site, f"/results/q{n}", f"127.0.0.{n + 2}").status_code == 200
    page = get(site, "/results/q5", "127.0.0.9")
    assert page.status_code == 503
    assert "This site is full: it already watches 5 searches" in page.get_data(as_text=True)
    api = get(site, "/api/v1/results?q=q5", "127.0.0.9")
    assert api.status_code == 503 and "full" in api.get_json()["error"]["message"]
    assert get(site, "/api/v1/stream?q=q5", "127.0.0.9").status_code == 503
    assert len(site.store.watched()) == 5
    assert get(site, "/results/q0", "127.0.0.9").status_code == 200
    assert get(site, "/api/v1/results?q=q1", "127.0.0.9").status_code == 200
    stream = open_stream(site, "q2", "127.0.0.9")
    assert stream.status_code == 200
    stream.close()


def test_a_client_holds_its_streams_per_client_and_a_closed_one_gives_its_place_back_at_once(site: Harness) -> None:
    one, two = open_stream(site, "cats", "127.0.0.2"), open_stream(site, "dogs", "127.0.0.2")
    assert one.status_code == two.status_code == 200
    refused = get(site, "/api/v1/stream?q=cats", "127.0.0.2")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "2 live result streams open" in refused.get_json()["error"]["message"]
    other = open_stream(site, "cats", "127.0.0.3")  # another address has its own places
    assert other.status_code == 200
    one.close()
    again = open_stream(site, "cats", "127.0.0.2")
    assert again.status_code == 200
    for answer in (two, other, again):
        answer.close()
    assert site.app.extensions["hub"].open_streams() == 0


def test_a_stream_whose_viewer_leaves_gives_its_place_back_within_a_second_or_two(site: Harness) -> None:
    with site.served() as base, httpx.Client(timeout=10) as client:  # from 127.0.0.1: its places are two
        url = f"{base}/api/v1/stream"
        with client.stream("GET", url, params={"q": "cats"}) as first:
            first_lines = first.iter_lines()  # kept: a dropped iterator closes the response
            assert next(first_lines).startswith("retry:")
            with client.stream("GET", url, params={"q": "dogs"}) as second:
                second_lines = second.iter_lines()
                assert next(second_lines).startswith("retry:")
                assert client.get(url, params={"q": "cats"}).status_code == 429

        def opens() -> bool:
            with client.stream("GET", url, params={"q": "cats"}) as response:
                return response.status_code == 200

        eventually(opens, timeout=5, message="a closed stream's place is free again")


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limits(
    limited: Settings, tmp_path: Path, any_store: Store, proxies: int
) -> None:
    settings = limited.with_overrides(trusted_proxies=proxies)
    with running_app(settings, tmp_path, start_ingester=False, store=any_store) as site:

        def via_proxy(query: str, client: str) -> int:
            headers = {"X-Forwarded-For": client}
            return get(site, f"/api/v1/results?q={query}", "10.0.0.2", headers=headers).status_code

        assert [via_proxy(q, "127.0.0.2") for q in ("a", "b", "c", "d")] == [200, 200, 200, 429]
        if proxies:  # the forwarded address is the client: another one has its own count
            assert via_proxy("d", "127.0.0.3") == 200
        else:  # nobody's X-Forwarded-For is believed: every request is the proxy's own
            assert via_proxy("d", "127.0.0.3") == 429


def test_an_api_call_alone_does_not_put_a_query_on_the_watched_now_list(site: Harness) -> None:
    assert get(site, "/api/v1/results?q=secretword", "127.0.0.2").status_code == 200
    assert any(w.key == "secretword" for w in site.store.watched())  # watched (the ingester follows it)...
    index = get(site, "/", "127.0.0.3").get_data(as_text=True)
    assert "secretword" not in index  # ...but nobody looks at it: not "watched now"
    stream = open_stream(site, "secretword", "127.0.0.2")
    assert 'data-query="secretword"' in get(site, "/", "127.0.0.3").get_data(as_text=True)
    stream.close()


def test_the_limits_are_settings_read_by_name() -> None:
    from twitterstream.config import ConfigError, load_settings

    environ = {
        "TWITTERSTREAM_NEW_QUERIES_PER_MINUTE": "7",
        "TWITTERSTREAM_STREAMS_PER_CLIENT": "8",
        "TWITTERSTREAM_MAX_QUERIES": "9",
        "TWITTERSTREAM_MAX_QUERY_LENGTH": "512",
    }
    settings = load_settings(environ, env_file=None)
    assert (settings.new_queries_per_minute, settings.streams_per_client, settings.max_queries) == (7, 8, 9)
    assert settings.max_query_length == 512
    defaults = load_settings({}, env_file=None)
    assert (defaults.new_queries_per_minute, defaults.streams_per_client, defaults.max_queries) == (30, 50, 1000)
    assert defaults.max_query_length == 1024
    for name, value in [("TWITTERSTREAM_MAX_QUERIES", "0"), ("TWITTERSTREAM_STREAMS_PER_CLIENT", "lots")]:
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value}, env_file=None)
    with pytest.raises(ConfigError, match="TWITTERSTREAM_MAX_QUERY_LENGTH=2048 is over 1024"):
        load_settings({"TWITTERSTREAM_MAX_QUERY_LENGTH": "2048"}, env_file=None)


def test_a_query_over_the_operators_length_is_refused_with_the_position(settings: Settings, tmp_path: Path) -> None:
    with running_app(settings.with_overrides(max_query_length=20), tmp_path, start_ingester=False) as site:
        answer = site.client.get("/api/v1/results", query_string={"q": "a" * 21})
        assert answer.status_code == 400
        assert answer.get_json()["error"]["position"] == 21
        assert site.client.get("/api/v1/results", query_string={"q": "a" * 20}).status_code == 200
        page = site.client.get("/results/" + "b" * 21)
        assert page.status_code == 400 and "20" in page.get_data(as_text=True)


def test_an_open_stream_keeps_its_place_past_the_places_lifetime(
    limited: Settings, tmp_path: Path, any_store: Store
) -> None:
    # the hub renews this process's places with every keep-alive: an open stream never loses its place
    settings = limited.with_overrides(sse_keepalive_seconds=0.2)
    with running_app(settings, tmp_path, start_ingester=False, store=any_store) as site:
        ttl = site.app.extensions["client_limits"].place_ttl
        one, two = open_stream(site, "cats", "127.0.0.2"), open_stream(site, "dogs", "127.0.0.2")
        deadline = time.monotonic() + 1.5 * ttl
        while time.monotonic() < deadline:
            assert get(site, "/api/v1/stream?q=cats", "127.0.0.2").status_code == 429
            time.sleep(0.1)
        one.close()
        two.close()


def test_feeds_and_the_embedded_wall_count_as_starting_to_watch(site: Harness) -> None:
    assert get(site, "/api/v1/feed?q=cats", "127.0.0.2").status_code == 200
    assert get(site, "/embed?q=dogs", "127.0.0.2").status_code == 200
    assert get(site, "/results/birds", "127.0.0.2").status_code == 200
    feed = get(site, "/api/v1/feed?q=fish", "127.0.0.2")
    assert feed.status_code == 429 and "Retry-After" in feed.headers
    assert get(site, "/embed?q=fish", "127.0.0.2").status_code == 429
    assert get(site, "/api/v1/feed?q=dogs", "127.0.0.2").status_code == 200  # already watched
    assert get(site, "/embed?q=cats", "127.0.0.2").status_code == 200


def test_wall_streams_take_places_like_query_streams(limited: Settings, tmp_path: Path, any_store: Store) -> None:
    from twitterstream.config import Secret

    with running_app(
        limited.with_overrides(admin_password=Secret("operator-pass")), tmp_path, start_ingester=False, store=any_store
    ) as site:
        made = site.client.put(
            "/api/v1/admin/walls/cats",
            json={"title": "Cats", "query": "#cats"},
            headers={"Authorization": "Bearer operator-pass"},
        )
        assert made.status_code in (200, 201), made.get_data(as_text=True)
        wall = get(site, "/api/v1/walls/cats/stream", "127.0.0.2", buffered=False)
        assert wall.status_code == 200
        query = open_stream(site, "dogs", "127.0.0.2")
        assert query.status_code == 200
        refused = get(site, "/api/v1/walls/cats/stream", "127.0.0.2")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        wall.close()  # its place comes back at once
        again = get(site, "/api/v1/walls/cats/stream", "127.0.0.2", buffered=False)
        assert again.status_code == 200
        for answer in (query, again):
            answer.close()
