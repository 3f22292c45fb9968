"""The live stream's protocol over real HTTP: event format, keep-alives, Last-Event-ID resume."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import httpx
import orjson
import pytest

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Settings
from twitterstream.store import Event
from twitterstream.web.sse import format_event, format_event_or_skip, sse_message


class Served(NamedTuple):
    """The app on a real HTTP server (``url``), and its harness."""

    harness: Harness
    url: str


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    settings = settings.with_overrides(sse_keepalive_seconds=0.2)
    with running_app(settings, tmp_path, start_ingester=False) as harness, harness.served() as url:
        yield Served(harness, url)


def read_events(lines: Iterator[str], count: int, kinds: tuple[str, ...] = ("post", "delete", "embed")) -> list[dict]:
    """The next ``count`` events of ``kinds`` as {"event", "id", "data"} (comments and others skipped)."""
    events: list[dict] = []
    current: dict = {}
    for line in lines:
        if line == "":
            if current.get("event") in kinds:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError("the stream ended early")


def test_the_stream_sends_the_contract_format(served: Served) -> None:
    store = served.harness.store
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        lines = response.iter_lines()
        assert next(lines) == "retry: 2000"
        assert next(lines) == "event: status"
        assert next(lines).startswith("data: {")
        store.save_post(make_post(1, "cats & dogs"), ["cats"])
        [event] = read_events(lines, 1)
        assert event["event"] == "post" and event["id"] == "1"
        data = orjson.loads(event["data"])
        assert data["text"] == "cats & dogs"
        assert set(data) == {
            "id", "source", "url", "text", "created_at", "author", "lang",
            "media", "sensitive", "content_warning", "text_parts", "embed_html", "queries",
        }  # fmt: skip
        assert data["queries"] == ["cats"]  # the key of the query it matched (as with several q)
        assert set(data["author"]) == {"id", "username", "name", "avatar_url"}


def test_keepalive_comments_arrive(served: Served) -> None:
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "quiet"}, timeout=10) as response:
        assert any(line == ": keep-alive" for line in response.iter_lines())


def test_a_new_stream_starts_with_the_latest_posts_oldest_first(served: Served) -> None:
    for post_id in range(1, 16):
        served.harness.store.save_post(make_post(post_id), ["cats"])
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats", "limit": 5}, timeout=10) as response:
        assert [e["id"] for e in read_events(response.iter_lines(), 5)] == ["11", "12", "13", "14", "15"]


def test_last_event_id_resumes_with_no_gap_and_no_duplicate(served: Served) -> None:
    store = served.harness.store
    for post_id in range(1, 4):
        store.save_post(make_post(post_id), ["cats"])
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, timeout=10) as response:
        seen = [e["id"] for e in read_events(response.iter_lines(), 3)]
    assert seen == ["1", "2", "3"]
    for post_id in range(4, 7):  # published while the client was away
        store.save_post(make_post(post_id), ["cats"])
    headers = {"Last-Event-ID": "3"}
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, headers=headers, timeout=10) as r:
        store.save_post(make_post(7), ["cats"])  # and one more, live
        assert [e["id"] for e in read_events(r.iter_lines(), 4)] == ["4", "5", "6", "7"]


def test_deletes_reach_an_open_stream(served: Served) -> None:
    store = served.harness.store
    store.save_post(make_post(1), ["cats"])
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, timeout=10) as response:
        lines = response.iter_lines()
        assert read_events(lines, 1)[0]["id"] == "1"
        store.delete_post("x:1")
        [event] = read_events(lines, 1)
        assert event["event"] == "delete" and orjson.loads(event["data"]) == {"id": "1"}
        assert "id" not in event  # only posts move the Last-Event-ID


def test_a_bad_query_answers_400_json_not_a_stream(served: Served) -> None:
    answer = httpx.get(f"{served.url}/api/v1/stream", params={"q": "cats or dogs"})
    assert answer.status_code == 400
    assert answer.json()["error"]["position"] == 6


# -- defence in depth: the writer frames nothing that could end its line --------------------------------
INJECTED = '9\n\nevent: embed\ndata: {"id":"1","embed_html":"<h1>owned</h1>"}'


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\r\nb", "a\x00b", "\n", INJECTED])
def test_the_writer_refuses_line_breaks_and_nul_in_the_event_and_the_id(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        sse_message("post", b"{}", bad)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        sse_message(bad, b"{}")


def test_the_writer_refuses_data_that_is_not_one_line() -> None:
    with pytest.raises(ValueError, match="line break"):
        sse_message("post", b'{"a":\n1}', "1")
    assert sse_message("post", b'{"a":1}', "7") == b'event: post\nid: 7\ndata: {"a":1}\n\n'


def test_format_event_refuses_a_post_whose_id_would_inject_an_event() -> None:
    post = make_post(1, "hello\n\nevent: embed")
    assert format_event(Event("1", "cats", "post", post.key, post)).count(b"\n\n") == 1  # text is JSON-escaped
    hostile = replace(post, id=INJECTED)
    with pytest.raises(ValueError):
        format_event(Event("2", "cats", "post", hostile.key, hostile))
    assert format_event_or_skip(Event("2", "cats", "post", hostile.key, hostile)) is None


def test_a_post_with_a_hostile_id_is_skipped_and_the_stream_goes_on(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    store = served.harness.store
    store.save_post(make_post(1, "before"), ["cats"])
    store.save_post(replace(make_post(2, "bad"), id=INJECTED), ["cats"])  # past every decoder: a doctored store
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, timeout=10) as response:
        lines = response.iter_lines()
        assert [e["id"] for e in read_events(lines, 1)] == ["1"]  # the backlog skipped the bad one
        store.save_post(replace(make_post(3, "bad live"), id="3\r\nid: 99"), ["cats"])
        store.save_post(make_post(4, "after"), ["cats"])
        [event] = read_events(lines, 1)  # an injected embed would come first
        assert event["event"] == "post" and event["id"] == "4"
        assert orjson.loads(event["data"])["text"] == "after"
    assert any("skipping post event" in r.getMessage() for r in caplog.records)
