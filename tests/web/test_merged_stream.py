"""One live stream of several queries (``/api/v1/stream?q=A&q=B``) over real HTTP, on both stores: each post
once with the keys of the asked queries it matched, limits and errors, and resuming by the token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from test_sse import Served
from test_sse import read_events as read_all
from werkzeug.test import TestResponse

from harness import Harness, eventually, running_app
from helpers import make_post
from twitterstream.config import Settings
from twitterstream.store import Store
from twitterstream.web.merged_stream import decode_token, query_tag


@pytest.fixture
def served(settings: Settings, tmp_path: Path, any_store: Store) -> Iterator[Served]:
    settings = settings.with_overrides(sse_keepalive_seconds=0.2)
    with running_app(settings, tmp_path, start_ingester=False, store=any_store) as harness, harness.served() as url:
        yield Served(harness, url)


def read_events(lines: Iterator[str], count: int, seconds: float = 5.0) -> list[dict[str, Any]]:
    """The next ``count`` post, embed or delete events; fails after ``seconds`` (keep-alives come every 0.2 s)."""
    deadline = time.monotonic() + seconds

    def bounded() -> Iterator[str]:
        for line in lines:
            yield line
            assert time.monotonic() < deadline, f"fewer than {count} events within {seconds} s"

    return read_all(bounded(), count)


def posts_of(events: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(post id, queries) of each post event."""
    return [(orjson.loads(e["data"])["id"], orjson.loads(e["data"])["queries"]) for e in events]


def posts_by_id(events: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """:func:`posts_of` by post id: events of several queries that arrive together are in each query's order,
    and across queries in the order of their logs, which Redis keeps per query only (its entry ids)."""
    return sorted(posts_of(events))


def stream(served: Served, *queries: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return httpx.stream(
        "GET", f"{served.url}/api/v1/stream", params={"q": list(queries), **params}, headers=headers, timeout=10
    )


def test_a_post_matching_several_asked_queries_comes_once_with_all_their_keys(served: Served) -> None:
    store = served.harness.store
    with stream(served, "cats", "#Dogs", "birds") as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == "retry: 2000"
        store.save_post(make_post(1, "cats and #dogs"), ["cats", "#dogs", "fish"])  # fish: not asked
        store.save_post(make_post(2, "only birds"), ["birds"])
        store.save_post(make_post(3, "birds and cats"), ["birds", "cats"])
        events = read_events(lines, 3)
    assert posts_by_id(events) == [("1", ["cats", "#dogs"]), ("2", ["birds"]), ("3", ["cats", "birds"])]
    data = orjson.loads(events[0]["data"])
    assert data["text"] == "cats and #dogs" and data["author"]["username"] == "someone"  # the whole Post JSON


def test_the_first_posts_of_each_query_come_once_oldest_first(served: Served) -> None:
    store = served.harness.store
    for n in range(1, 6):
        store.save_post(make_post(n), ["cats"])
    store.save_post(make_post(6), ["cats", "dogs"])
    store.save_post(make_post(7), ["dogs"])
    with stream(served, "cats", "dogs", limit=3) as response:
        events = read_events(response.iter_lines(), 4)
    # the latest 3 of each: cats 4, 5, 6 and dogs 6, 7; post 6 once, with both keys
    assert posts_of(events) == [("4", ["cats"]), ("5", ["cats"]), ("6", ["cats", "dogs"]), ("7", ["dogs"])]


def test_deletes_and_embeds_reach_the_stream_once_per_post(served: Served) -> None:
    store = served.harness.store
    with stream(served, "cats", "dogs") as response:
        lines = response.iter_lines()
        store.save_post(make_post(1, "cats dogs"), ["cats", "dogs"])
        assert posts_of(read_events(lines, 1)) == [("1", ["cats", "dogs"])]
        store.set_embed("x:1", '<blockquote class="twitter-tweet">hi</blockquote>')
        events = read_events(lines, 1)
        store.delete_post("x:1")
        store.save_post(make_post(2, "cats"), ["cats"])
        events += read_events(lines, 2)
    assert [e["event"] for e in events[:1]] == ["embed"]  # not an embed and a delete per query
    assert sorted(e["event"] for e in events[1:]) == ["delete", "post"]
    assert orjson.loads(events[0]["data"])["embed_html"].startswith("<blockquote")
    [delete] = [e for e in events if e["event"] == "delete"]
    assert orjson.loads(delete["data"]) == {"id": "1"} and "id" not in delete


def test_more_than_six_queries_is_a_400_naming_the_limit(served: Served) -> None:
    answer = httpx.get(f"{served.url}/api/v1/stream", params={"q": [f"w{n}" for n in range(7)]})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "at most 6 queries" in error["message"] and error["position"] is None


def test_an_invalid_query_among_several_is_a_400_naming_which_and_where(served: Served) -> None:
    answer = httpx.get(f"{served.url}/api/v1/stream", params={"q": ["cats", "dogs or", "(birds"]})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["q_index"] == 2 and error["position"] == 6
    assert error["message"].startswith("query 2 ('dogs or'): ")
    empty = httpx.get(f"{served.url}/api/v1/stream", params={"q": ["cats", " "]}).json()["error"]
    assert empty["q_index"] == 2 and "Type something to watch" in empty["message"]
    assert {w.key for w in served.harness.store.watched()} == set()  # nothing watched, nothing counted


def test_the_same_query_twice_is_one_stream_of_one_query(served: Served) -> None:
    store = served.harness.store
    with stream(served, "cats", "CATS", " cats ") as response:
        lines = response.iter_lines()
        store.save_post(make_post(1), ["cats"])
        [event] = read_events(lines, 1)
    assert event["id"] == "1"  # a stream of one query: the post id, as ever
    assert orjson.loads(event["data"])["queries"] == ["cats"]


def test_every_query_is_watched_with_one_viewer_and_the_stream_ends_cleanly(served: Served) -> None:
    store = served.harness.store
    hub = served.harness.app.extensions["hub"]
    with stream(served, "cats", "dogs", "birds") as response:
        lines = response.iter_lines()  # kept: a dropped iterator closes the response
        assert next(lines) == "retry: 2000"
        viewers = {w.key: w.viewers for w in store.watched()}
        assert viewers == {"cats": 1, "dogs": 1, "birds": 1}
        assert hub.open_streams() == 1  # one stream, three queries
    eventually(lambda: hub.open_streams() == 0)  # the client left: the hub notices within a second
    assert {w.key: w.viewers for w in store.watched()} == {"cats": 0, "dogs": 0, "birds": 0}


def resume_token(events: list[dict[str, Any]]) -> str:
    token: str = events[-1]["id"]
    return token


def test_the_token_resumes_every_query_after_what_was_sent_and_nothing_twice(served: Served) -> None:
    store = served.harness.store
    store.save_post(make_post(1), ["cats"])
    store.save_post(make_post(2), ["dogs"])
    with stream(served, "cats", "dogs") as response:
        lines = response.iter_lines()
        first = read_events(lines, 2)
        store.save_post(make_post(3), ["cats", "dogs"])
        first += read_events(lines, 1)
    token = resume_token(first)
    assert set(decode_token(token)) == {query_tag("cats"), query_tag("dogs")}
    # while the client is away: the queries' logs grow by different amounts
    store.save_post(make_post(4), ["dogs"])
    store.save_post(make_post(5), ["cats", "dogs"])
    store.save_post(make_post(6), ["cats"])
    with stream(served, "cats", "dogs", headers={"Last-Event-ID": token}) as response:
        lines = response.iter_lines()
        missed = read_events(lines, 3)
        store.save_post(make_post(7), ["dogs"])
        live = read_events(lines, 1)
    assert posts_by_id(missed) == [("4", ["dogs"]), ("5", ["cats", "dogs"]), ("6", ["cats"])]
    assert posts_of(live) == [("7", ["dogs"])]


def test_a_query_added_to_the_set_starts_afresh_while_the_others_resume(served: Served) -> None:
    store = served.harness.store
    store.save_post(make_post(1), ["cats"])
    store.save_post(make_post(2), ["birds"])
    with stream(served, "cats", "dogs") as response:
        token = resume_token(read_events(response.iter_lines(), 1))
    store.save_post(make_post(3), ["cats"])
    # a column added (birds), one removed (dogs): the token passed as a parameter, as the page does
    with stream(served, "birds", "cats", last_event_id=token) as response:
        events = read_events(response.iter_lines(), 2)
    assert posts_of(events) == [("2", ["birds"]), ("3", ["cats"])]  # birds' latest; cats after post 1 only
    assert set(decode_token(resume_token(events))) == {query_tag("birds"), query_tag("cats")}


@pytest.mark.parametrize(
    "token", ["1", "garbage", "00000000:1", "zzzzzzzz:1", "a" * 600, "ffffffff:99999999999999999999-1,x"]
)
def test_a_token_that_is_not_ours_starts_every_query_afresh(served: Served, token: str) -> None:
    store = served.harness.store
    store.save_post(make_post(1), ["cats"])
    store.save_post(make_post(2), ["dogs"])
    with stream(served, "cats", "dogs", headers={"Last-Event-ID": token}) as response:
        assert response.status_code == 200
        assert posts_of(read_events(response.iter_lines(), 2)) == [("1", ["cats"]), ("2", ["dogs"])]


def test_a_cursor_past_the_log_or_of_the_other_store_starts_that_query_afresh(served: Served) -> None:
    store = served.harness.store
    store.save_post(make_post(1), ["cats"])
    store.save_post(make_post(2), ["dogs"])
    head = store.head_cursor("dogs")
    other_form = "5" if "-" in head else "5-0"
    token = f"{query_tag('cats')}:99999999999999999999-9,{query_tag('dogs')}:{other_form}"
    with stream(served, "cats", "dogs", headers={"Last-Event-ID": token}) as response:
        assert posts_of(read_events(response.iter_lines(), 2)) == [("1", ["cats"]), ("2", ["dogs"])]


# -- limits: one stream place for the whole stream, each query counted as a query --------------------------------
@pytest.fixture
def site(settings: Settings, tmp_path: Path, any_store: Store) -> Iterator[Harness]:
    limited = settings.with_overrides(new_queries_per_minute=3, streams_per_client=2, max_queries=5)
    with running_app(limited, tmp_path, start_ingester=False, store=any_store) as harness:
        yield harness


def open_stream(site: Harness, client: str, *queries: str) -> TestResponse:
    """An open stream of ``queries`` from ``client`` (its first bytes read); close it with ``.close()``."""
    answer = site.client.get(
        "/api/v1/stream", query_string={"q": list(queries)}, environ_base={"REMOTE_ADDR": client}, buffered=False
    )
    if answer.status_code == 200:
        assert next(iter(answer.response)).startswith(b"retry:")
    return answer


def test_a_stream_of_several_queries_takes_one_stream_place(site: Harness) -> None:
    several = open_stream(site, "127.0.0.2", "cats", "dogs", "birds")
    one = open_stream(site, "127.0.0.2", "cats")
    assert several.status_code == one.status_code == 200
    refused = open_stream(site, "127.0.0.2", "cats", "dogs")  # two places are this client's all
    assert refused.status_code == 429 and "2 live result streams open" in refused.get_json()["error"]["message"]
    several.close()
    again = open_stream(site, "127.0.0.2", "dogs", "birds")
    assert again.status_code == 200
    again.close()
    one.close()
    assert site.app.extensions["hub"].open_streams() == 0


def test_each_new_query_of_a_stream_counts_against_the_new_queries_per_minute(site: Harness) -> None:
    refused = open_stream(site, "127.0.0.2", "a", "b", "c", "d")  # four new queries, three a minute
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "3 new searches within a minute" in refused.get_json()["error"]["message"]
    assert site.store.watched() == []  # refused: none of them is watched
    first = open_stream(site, "127.0.0.3", "a", "b")
    assert first.status_code == 200
    # a and b are watched now: only c is new for this client (a and b never count again)
    second = open_stream(site, "127.0.0.3", "a", "b", "c")
    assert second.status_code == 200
    assert open_stream(site, "127.0.0.3", "a", "e").status_code == 429  # its fourth new query this minute
    first.close()
    second.close()


def test_new_queries_of_a_stream_count_towards_the_instance_cap_together(site: Harness) -> None:
    for n, client in enumerate(("127.0.0.2", "127.0.0.3")):
        answer = site.client.get(f"/api/v1/results?q=w{n}", environ_base={"REMOTE_ADDR": client})
        assert answer.status_code == 200
    full = open_stream(site, "127.0.0.4", "w0", "x1", "x2", "x3")  # 2 watched + 3 new = 5: the cap...
    assert full.status_code == 200
    full.close()
    refused = open_stream(site, "127.0.0.5", "w0", "y1")  # ...so a sixth is refused, watched ones are not
    assert refused.status_code == 503 and "This site is full" in refused.get_json()["error"]["message"]
    kept = open_stream(site, "127.0.0.5", "w0", "x1")
    assert kept.status_code == 200
    kept.close()
