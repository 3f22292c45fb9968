"""Moderation reaches open live streams at once: blocked and hidden posts leave, lifted ones come back,
approved and pinned ones arrive on the wall (real HTTP, real SSE)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import orjson
import pytest

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Secret, Settings

PASSWORD = "s3cret-operator"
AUTH = {"Authorization": f"Bearer {PASSWORD}"}


class Served(NamedTuple):
    """The app on a real HTTP server (``url``), and its harness."""

    harness: Harness
    url: str

    def admin(self, method: str, path: str, body: object = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api/v1/admin{path}", json=body, headers=AUTH, timeout=10)


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    settings = settings.with_overrides(sse_keepalive_seconds=0.2, admin_password=Secret(PASSWORD))
    with running_app(settings, tmp_path, start_ingester=False) as harness, harness.served() as url:
        yield Served(harness, url)


def read_events(lines: Iterator[str], count: int) -> list[tuple[str, dict]]:
    """The next ``count`` post/delete/embed events as (event, data)."""
    events: list[tuple[str, dict]] = []
    current: dict[str, str] = {}
    for line in lines:
        if line == "":
            if current.get("event") in ("post", "delete", "embed"):
                events.append((current["event"], orjson.loads(current["data"])))
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError("the stream ended early")


def test_blocking_and_hiding_reach_an_open_stream_and_lifting_brings_posts_back(served: Served) -> None:
    store = served.harness.store
    store.save_post(make_post(1, "cats"), ["cats"])
    store.save_post(make_post(2, "GARBAGE cats"), ["cats"])
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, timeout=10) as response:
        lines = response.iter_lines()
        assert [d["id"] for _, d in read_events(lines, 2)] == ["1", "2"]
        assert served.admin("PUT", "/blocklist", {"words": ["garbage"]}).status_code == 200
        assert read_events(lines, 1) == [("delete", {"id": "2"})]
        store.save_post(make_post(3, "more garbage, cats"), ["cats"])  # a new blocked post never shows
        store.save_post(make_post(4, "fine cats"), ["cats"])
        assert [(k, d["id"]) for k, d in read_events(lines, 1)] == [("post", "4")]
        served.admin("PUT", "/blocklist", {})
        assert sorted((k, d["id"]) for k, d in read_events(lines, 2)) == [("post", "2"), ("post", "3")]
        served.admin("POST", "/posts/x/1/hide")
        assert read_events(lines, 1) == [("delete", {"id": "1"})]
        served.admin("POST", "/posts/x/1/unhide")
        assert [(k, d["id"]) for k, d in read_events(lines, 1)] == [("post", "1")]


def test_a_resumed_stream_skips_what_is_withheld(served: Served) -> None:
    store = served.harness.store
    store.save_post(make_post(1, "cats"), ["cats"])
    served.admin("PUT", "/blocklist", {"words": ["spam"]})
    store.save_post(make_post(2, "spam cats"), ["cats"])
    store.save_post(make_post(3, "cats"), ["cats"])
    headers = {"Last-Event-ID": "1"}
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, headers=headers, timeout=10) as r:
        assert [(k, d["id"]) for k, d in read_events(r.iter_lines(), 1)] == [("post", "3")]


def test_approval_wall_end_to_end(served: Served) -> None:
    store = served.harness.store
    assert served.admin("PUT", "/walls/talk", {"title": "Talk", "query": "cats", "approval": True}).status_code == 201
    store.save_post(make_post(1, "cats one"), ["cats"])
    with httpx.stream("GET", f"{served.url}/api/v1/walls/talk/stream", timeout=10) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        store.save_post(make_post(2, "cats two"), ["cats"])  # waits in the queue, never on the wall
        queue = served.admin("GET", "/walls/talk/queue").json()
        assert [p["id"] for p in queue["posts"]] == ["1", "2"]
        served.admin("POST", "/walls/talk/posts/x/2/approve")
        [(kind, data)] = read_events(lines, 1)
        assert kind == "post" and data["id"] == "2" and data["pinned"] is False
        served.admin("POST", "/walls/talk/posts/x/1/pin")  # pinning shows it, leading the wall
        [(kind, data)] = read_events(lines, 1)
        assert kind == "post" and data["id"] == "1" and data["pinned"] is True
        served.admin("POST", "/walls/talk/posts/x/2/reject")
        assert read_events(lines, 1) == [("delete", {"id": "2"})]
    with httpx.stream("GET", f"{served.url}/api/v1/stream", params={"q": "cats"}, timeout=10) as response:
        # the search itself is no wall: rejected there, still here
        assert sorted(d["id"] for _, d in read_events(response.iter_lines(), 2)) == ["1", "2"]
    with httpx.stream("GET", f"{served.url}/api/v1/walls/talk/stream", timeout=10) as response:
        assert [(d["id"], d["pinned"]) for _, d in read_events(response.iter_lines(), 1)] == [("1", True)]
    assert httpx.get(f"{served.url}/api/v1/walls/nope/stream", timeout=10).status_code == 404
