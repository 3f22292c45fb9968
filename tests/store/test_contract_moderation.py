"""The store contract for moderation (walls, marks, audit log, re-announcing posts): SQLite and Redis alike."""

from __future__ import annotations

from helpers import make_post
from twitterstream.store import EventKind, Store


def test_publish_announces_a_stored_post_on_its_queries_without_changing_it(any_store: Store) -> None:
    post = make_post(1, "cats and dogs")
    any_store.save_post(post, ["cats", "dogs"])
    heads = {key: any_store.head_cursor(key) for key in ("cats", "dogs")}
    assert any_store.publish(post.key, EventKind.DELETE) == ["cats", "dogs"]
    for key in ("cats", "dogs"):
        events = any_store.events_after(key, heads[key])
        assert [(e.kind, e.post_key) for e in events] == [(EventKind.DELETE, "x:1")]
        assert events[0].post == post  # still stored: moderation deletes nothing
        assert [p.id for p in any_store.latest(key, 10)] == ["1"]
    head = any_store.head_cursor("cats")
    assert any_store.publish(post.key, EventKind.POST, ["cats", "birds"]) == ["cats"]  # only queries it matches
    assert [e.kind for e in any_store.events_after("cats", head)] == [EventKind.POST]
    assert any_store.find_post_event("cats", "1") is not None
    assert any_store.publish("x:404", EventKind.POST) == []


def test_publish_wakes_a_waiting_reader(any_store: Store) -> None:
    post = make_post(1, "cats")
    any_store.save_post(post, ["cats"])
    head = any_store.head_cursor("cats")
    any_store.publish(post.key, EventKind.DELETE)
    events = any_store.wait_for_events({"cats": head}, timeout=2)
    assert [e.kind for e in events] == [EventKind.DELETE]


def test_matched_posts_lists_every_post_some_query_holds(any_store: Store) -> None:
    any_store.save_matches([(make_post(1, "cats"), ["cats"]), (make_post(2, "dogs"), ["dogs", "pets"])])
    assert sorted(p.id for p in any_store.matched_posts()) == ["1", "2"]


def test_walls_are_created_replaced_listed_and_deleted(any_store: Store) -> None:
    assert any_store.walls() == []
    assert any_store.put_wall("b-wall", {"slug": "b-wall", "title": "B"}) is True
    assert any_store.put_wall("a-wall", {"slug": "a-wall", "title": "A"}) is True
    assert any_store.put_wall("b-wall", {"slug": "b-wall", "title": "B2"}) is False
    assert any_store.get_wall("b-wall") == {"slug": "b-wall", "title": "B2"}
    assert [w["slug"] for w in any_store.walls()] == ["a-wall", "b-wall"]
    assert any_store.get_wall("nope") is None
    assert any_store.delete_wall("b-wall") is True
    assert any_store.delete_wall("b-wall") is False
    assert [w["slug"] for w in any_store.walls()] == ["a-wall"]


def test_marks_are_set_once_listed_oldest_first_and_cleared(any_store: Store) -> None:
    assert any_store.set_mark("", "hidden", "x:2", True) is True
    assert any_store.set_mark("", "hidden", "x:1", True) is True
    assert any_store.set_mark("", "hidden", "x:2", True) is False  # already set
    assert any_store.marks("", "hidden") == ["x:2", "x:1"]
    assert any_store.marked("", "hidden", ["x:1", "x:3"]) == {"x:1"}
    assert any_store.marked("", "hidden", []) == set()
    assert any_store.marked("wall", "hidden", ["x:1"]) == set()  # scopes are apart
    assert any_store.set_mark("", "hidden", "x:2", False) is True
    assert any_store.set_mark("", "hidden", "x:2", False) is False
    assert any_store.marks("", "hidden") == ["x:1"]


def test_deleting_a_wall_removes_its_marks_only(any_store: Store) -> None:
    any_store.put_wall("w", {"slug": "w"})
    any_store.set_mark("w", "approved", "x:1", True)
    any_store.set_mark("w", "pinned", "x:1", True)
    any_store.set_mark("", "hidden", "x:1", True)
    any_store.delete_wall("w")
    assert any_store.marks("w", "approved") == [] and any_store.marks("w", "pinned") == []
    assert any_store.marks("", "hidden") == ["x:1"]


def test_the_audit_log_is_newest_first_and_limited(any_store: Store) -> None:
    for n in range(5):
        any_store.add_audit({"at": f"2024-01-01T00:00:0{n}.000Z", "action": "hide", "n": n})
    assert [e["n"] for e in any_store.audit_log(3)] == [4, 3, 2]
    assert any_store.audit_log(10)[0] == {"at": "2024-01-01T00:00:04.000Z", "action": "hide", "n": 4}
