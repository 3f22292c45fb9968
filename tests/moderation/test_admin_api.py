"""The operator API: who may use it, the blocklist, hiding, walls and their approval flow, the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Secret, Settings

PASSWORD = "correct horse battery staple"
AUTH = {"Authorization": f"Bearer {PASSWORD}"}


@pytest.fixture
def harness(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings.with_overrides(admin_password=Secret(PASSWORD)), tmp_path, start_ingester=False) as h:
        yield h


def ids(posts: list[dict]) -> list[str]:
    return [p["id"] for p in posts]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/admin/blocklist"),
        ("PUT", "/api/v1/admin/blocklist"),
        ("POST", "/api/v1/admin/posts/x/1/hide"),
        ("POST", "/api/v1/admin/posts/x/1/unhide"),
        ("GET", "/api/v1/admin/walls"),
        ("PUT", "/api/v1/admin/walls/w"),
        ("DELETE", "/api/v1/admin/walls/w"),
        ("GET", "/api/v1/admin/walls/w/queue"),
        ("POST", "/api/v1/admin/walls/w/posts/x/1/approve"),
        ("POST", "/api/v1/admin/walls/w/posts/x/1/pin"),
        ("GET", "/api/v1/admin/audit"),
    ],
)
def test_strangers_are_refused_with_json_401(harness: Harness, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {PASSWORD}"}):
        answer = harness.client.open(path, method=method, headers=headers, json={})
        assert answer.status_code == 401, (path, headers)
        assert "operator" in answer.get_json()["error"]["message"] or "bearer" in answer.get_json()["error"]["message"]


def test_repeated_failures_are_rate_limited_per_client_and_audited(harness: Harness) -> None:
    for _ in range(5):
        assert harness.client.get("/api/v1/admin/audit", headers={"Authorization": "Bearer nope"}).status_code == 401
    refused = harness.client.get("/api/v1/admin/audit", headers=AUTH)  # even the right password waits now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    other = harness.client.get("/api/v1/admin/audit", headers=AUTH, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    entries = other.get_json()["entries"]
    assert [e["action"] for e in entries] == ["login_failed"] * 5
    assert all(PASSWORD not in str(e) and "nope" not in str(e) for e in entries)


def test_operator_features_are_off_without_a_password(settings: Settings, tmp_path: Path) -> None:
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        answer = harness.client.get("/api/v1/admin/blocklist", headers=AUTH)
        assert answer.status_code == 403
        assert "TWITTERSTREAM_ADMIN_PASSWORD" in answer.get_json()["error"]["message"]
        assert "TWITTERSTREAM_ADMIN_PASSWORD" in harness.client.get("/admin").get_data(as_text=True)


def test_the_blocklist_withholds_posts_retroactively_and_gives_them_back(harness: Harness) -> None:
    store = harness.store
    store.save_post(make_post(1, "lovely cats"), ["cats"])
    store.save_post(make_post(2, "cats are GARBAGE", urls=("https://spam.example.com/x",)), ["cats"])
    store.save_post(make_post(3, "cats", username="troll"), ["cats"])
    assert ids(harness.results("cats")) == ["3", "2", "1"]
    body = {"words": ["garbage"], "authors": ["@troll"], "domains": []}
    answer = harness.client.put("/api/v1/admin/blocklist", json=body, headers=AUTH)
    assert answer.status_code == 200 and answer.get_json()["posts_blocked"] == 2
    assert ids(harness.results("cats")) == ["1"]
    assert harness.client.get("/api/v1/admin/blocklist", headers=AUTH).get_json() == body
    assert "lovely cats" in harness.client.get("/results/cats").get_data(as_text=True)
    assert "GARBAGE" not in harness.client.get("/results/cats").get_data(as_text=True)
    harness.client.put("/api/v1/admin/blocklist", json={"domains": ["example.com"]}, headers=AUTH)
    assert ids(harness.results("cats")) == ["3", "1"]  # the subdomain's link still blocks post 2
    harness.client.put("/api/v1/admin/blocklist", json={}, headers=AUTH)
    assert ids(harness.results("cats")) == ["3", "2", "1"]  # nothing was deleted


def test_a_malformed_blocklist_is_400_with_what_is_wrong(harness: Harness) -> None:
    answer = harness.client.put("/api/v1/admin/blocklist", json={"words": ["ok", 7]}, headers=AUTH)
    assert answer.status_code == 400 and "words[1]" in answer.get_json()["error"]["message"]
    answer = harness.client.put("/api/v1/admin/blocklist", data="not json", headers=AUTH)
    assert answer.status_code == 400 and "JSON" in answer.get_json()["error"]["message"]


def test_hide_and_unhide_one_post(harness: Harness) -> None:
    harness.store.save_post(make_post(1, "cats"), ["cats"])
    harness.store.save_post(make_post(2, "more cats"), ["cats"])
    answer = harness.client.post("/api/v1/admin/posts/x/2/hide", headers=AUTH)
    assert answer.get_json() == {"post": "x:2", "hidden": True, "changed": True}
    assert ids(harness.results("cats")) == ["1"]
    assert harness.client.post("/api/v1/admin/posts/x/2/unhide", headers=AUTH).get_json()["changed"] is True
    assert ids(harness.results("cats")) == ["2", "1"]
    assert harness.client.post("/api/v1/admin/posts/x/404/hide", headers=AUTH).status_code == 404


def test_a_wall_is_created_listed_watched_and_deleted(harness: Harness) -> None:
    body = {"title": "Cats <live>", "query": "cats", "approval": False}
    answer = harness.client.put("/api/v1/admin/walls/cat-wall", json=body, headers=AUTH)
    assert answer.status_code == 201 and answer.get_json()["query"] == "cats"
    assert harness.client.put("/api/v1/admin/walls/cat-wall", json=body, headers=AUTH).status_code == 200
    assert harness.client.get("/api/v1/walls").get_json() == {
        "walls": [{"slug": "cat-wall", "title": "Cats <live>", "query": "cats"}]
    }
    assert "cats" in {w.key for w in harness.store.watched()}  # watched with no viewer
    page = harness.client.get("/wall/cat-wall").get_data(as_text=True)
    assert "Cats &lt;live&gt; · TwitterStream" in page and "<live>" not in page
    assert harness.client.delete("/api/v1/admin/walls/cat-wall", headers=AUTH).status_code == 200
    assert "cats" not in {w.key for w in harness.store.watched()}
    assert harness.client.get("/wall/cat-wall").status_code == 404
    assert harness.client.get("/api/v1/walls/cat-wall/posts").status_code == 404
    assert harness.client.delete("/api/v1/admin/walls/cat-wall", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("slug", "body", "message", "position"),
    [
        ("w", {"title": "T", "query": "cats or dogs"}, "query", 6),
        ("w", {"title": "", "query": "cats"}, "title", None),
        ("w", {"title": "T", "query": "cats", "approval": "yes"}, "approval", None),
        ("w", {"title": "T", "query": "cats", "languages": ["english"]}, "languages", None),
        ("w", {"title": "T", "query": "cats", "colour": "red"}, "unknown field 'colour'", None),
        ("Bad_Slug", {"title": "T", "query": "cats"}, "not a wall name", None),
    ],
)
def test_a_malformed_wall_is_400_with_what_is_wrong(
    harness: Harness, slug: str, body: dict, message: str, position: int | None
) -> None:
    answer = harness.client.put(f"/api/v1/admin/walls/{slug}", json=body, headers=AUTH)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert message in error["message"] and error["position"] == position


def test_the_approval_flow_and_pins(harness: Harness) -> None:
    store = harness.store
    harness.client.put("/api/v1/admin/walls/w", json={"title": "W", "query": "cats", "approval": True}, headers=AUTH)
    for n in (1, 2, 3):
        store.save_post(make_post(n, f"cats {n}"), ["cats"])
    queue = harness.client.get("/api/v1/admin/walls/w/queue", headers=AUTH).get_json()
    assert queue["waiting"] == 3 and ids(queue["posts"]) == ["1", "2", "3"]  # oldest first
    assert harness.client.get("/api/v1/walls/w/posts").get_json()["posts"] == []  # nothing before approval
    assert harness.results("cats") != []  # the plain search is not a wall
    for n, decision in ((1, "approve"), (2, "reject"), (3, "approve")):
        answer = harness.client.post(f"/api/v1/admin/walls/w/posts/x/{n}/{decision}", headers=AUTH)
        assert answer.status_code == 200 and answer.get_json()["changed"] is True
    assert harness.client.get("/api/v1/admin/walls/w/queue", headers=AUTH).get_json()["posts"] == []
    shown = harness.client.get("/api/v1/walls/w/posts").get_json()["posts"]
    assert [(p["id"], p["pinned"]) for p in shown] == [("3", False), ("1", False)]
    harness.client.post("/api/v1/admin/walls/w/posts/x/1/pin", headers=AUTH)
    shown = harness.client.get("/api/v1/walls/w/posts?limit=1").get_json()["posts"]
    assert [(p["id"], p["pinned"]) for p in shown] == [("1", True)]  # pinned first, within the limit
    harness.client.post("/api/v1/admin/walls/w/posts/x/1/unpin", headers=AUTH)
    assert ids(harness.client.get("/api/v1/walls/w/posts").get_json()["posts"]) == ["3", "1"]
    assert harness.client.post("/api/v1/admin/walls/w/posts/x/9/approve", headers=AUTH).status_code == 404
    assert harness.client.post("/api/v1/admin/walls/nope/posts/x/1/approve", headers=AUTH).status_code == 404
    assert harness.client.get("/api/v1/walls/w/posts?limit=0").status_code == 400
    actions = [e["action"] for e in harness.client.get("/api/v1/admin/audit", headers=AUTH).get_json()["entries"]]
    assert actions == ["unpin", "pin", "approve", "reject", "approve", "wall_create"]


def test_walls_apply_their_own_rules(harness: Harness) -> None:
    body = {"title": "W", "query": "cats", "hide_replies": True, "hide_reposts": True, "languages": ["en"]}
    harness.client.put("/api/v1/admin/walls/w", json=body, headers=AUTH)
    harness.store.save_post(make_post(1, "cats", lang="en"), ["cats"])
    harness.store.save_post(make_post(2, "cats", lang="en", is_reply=True), ["cats"])
    harness.store.save_post(make_post(3, "cats", lang="en", is_retweet=True), ["cats"])
    harness.store.save_post(make_post(4, "chats", lang="fr"), ["cats"])
    harness.store.save_post(make_post(5, "cats", lang="en-GB"), ["cats"])
    assert ids(harness.client.get("/api/v1/walls/w/posts").get_json()["posts"]) == ["5", "1"]


def test_posts_going_out_are_screened_too(harness: Harness) -> None:
    harness.store.save_post(make_post(1, "lovely cats"), ["cats"])
    harness.store.save_post(make_post(2, "cats are spam"), ["cats"])
    harness.client.put("/api/v1/admin/blocklist", json={"words": ["spam"]}, headers=AUTH)
    for path in ("/api/v1/feed?q=cats", "/api/v1/export?q=cats&format=jsonl", "/embed?q=cats"):
        answer = harness.client.get(path)
        assert answer.status_code == 200, path
        body = answer.get_data(as_text=True)
        assert "lovely cats" in body and "spam" not in body, path


def test_a_wall_pages_with_before_and_visits_every_post_it_shows_once(harness: Harness) -> None:
    harness.client.put("/api/v1/admin/walls/w", json={"title": "W", "query": "cats"}, headers=AUTH)
    for n in range(1, 13):
        harness.store.save_post(make_post(n, f"cats {n}"), ["cats"])
    for hidden in (4, 5, 6, 7):  # a whole page's worth hidden: the page reads on instead of coming back short
        harness.client.post(f"/api/v1/admin/posts/x/{hidden}/hide", headers=AUTH)
    harness.client.post("/api/v1/admin/walls/w/posts/x/3/pin", headers=AUTH)  # pinned: leads the first page only
    first = harness.client.get("/api/v1/walls/w/posts?limit=4").get_json()["posts"]
    assert [(p["id"], p["pinned"]) for p in first] == [("3", True), ("12", False), ("11", False), ("10", False)]
    seen = ids(first)
    last = seen[-1]
    while True:
        page = harness.client.get(f"/api/v1/walls/w/posts?limit=4&before={last}").get_json()["posts"]
        if not page:
            break
        assert not any(p["pinned"] for p in page)
        seen += ids(page)
        last = page[-1]["id"]
    assert seen == ["3", "12", "11", "10", "9", "8", "2", "1"]
    for bad in ("nope", "", "x y", "9" * 300):
        answer = harness.client.get("/api/v1/walls/w/posts", query_string={"before": bad})
        assert answer.status_code == 400 and "before" in answer.get_json()["error"]["message"]


@pytest.mark.parametrize("limit", ["²", "①", "٣", "1_0", " 7", "-1"])
def test_wall_and_audit_limits_are_read_strictly(harness: Harness, limit: str) -> None:
    harness.client.put("/api/v1/admin/walls/w", json={"title": "W", "query": "cats"}, headers=AUTH)
    for path in ("/api/v1/walls/w/posts", "/api/v1/walls/w/stream", "/wall/w", "/api/v1/admin/audit"):
        answer = harness.client.get(path, query_string={"limit": limit}, headers=AUTH)
        assert answer.status_code == 400, (path, limit, answer.status_code)
