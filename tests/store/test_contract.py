"""The store contract: every behaviour here holds for SQLite and for Redis alike."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import timedelta
from typing import Any

import orjson
import pytest

from helpers import BASE_TIME, make_post
from twitterstream.models import Media
from twitterstream.store import Store, UnknownPost
from twitterstream.store.redis import RedisStore
from twitterstream.store.sqlite import SQLiteStore


def test_saving_a_post_twice_stores_it_once(any_store: Store) -> None:
    post = make_post(1, "hello #nyc")
    assert any_store.save_post(post, ["#nyc"]) == ["#nyc"]
    assert any_store.save_post(post, ["#nyc"]) == []
    assert [p.id for p in any_store.latest("#nyc", 10)] == ["1"]
    assert len(any_store.events_after("#nyc", "0")) == 1


def test_a_post_matching_two_queries_is_stored_once_and_listed_in_both(any_store: Store) -> None:
    post = make_post(1, "cats and dogs")
    assert sorted(any_store.save_post(post, ["cats", "dogs"])) == ["cats", "dogs"]
    assert any_store.save_post(post, ["cats", "birds"]) == ["birds"]
    for key in ("cats", "dogs", "birds"):
        assert [p.id for p in any_store.latest(key, 10)] == ["1"]
    assert any_store.get_post("x:1") == post


def test_save_matches_stores_a_batch_each_post_with_its_own_queries(any_store: Store) -> None:
    one, two, three = make_post(1, "cats"), make_post(2, "dogs"), make_post(3, "cats and dogs")
    any_store.save_post(one, ["cats"])
    head = any_store.head_cursor("dogs")
    results = any_store.save_matches([(one, ["cats"]), (two, ["dogs"]), (three, ["cats", "dogs"]), (two, ["dogs"])])
    assert results == [[], ["dogs"], ["cats", "dogs"], []]  # already stored ones (even within the batch) skipped
    assert [p.id for p in any_store.latest("cats", 10)] == ["3", "1"]
    assert [p.id for p in any_store.latest("dogs", 10)] == ["3", "2"]
    assert [e.post_key for e in any_store.events_after("dogs", head)] == ["x:2", "x:3"]


def test_latest_is_newest_first_by_post_time_and_limited(any_store: Store) -> None:
    for post_id in (3, 1, 5, 2, 4):  # arrival order differs from post time
        any_store.save_post(make_post(post_id), ["q"])
    assert [p.id for p in any_store.latest("q", 10)] == ["5", "4", "3", "2", "1"]
    assert [p.id for p in any_store.latest("q", 2)] == ["5", "4"]
    assert any_store.latest("unknown", 10) == []


def test_post_round_trips_every_field(any_store: Store) -> None:
    post = make_post(
        7,
        "a <b>bold</b> & 'quoted' text 🎉",
        lang="en",
        is_reply=True,
        hashtags=("NYC",),
        mentions=("bob",),
        urls=("https://t.co/x", "https://example.com/"),
        media_types=("photo",),
        media_urls=("https://img.example/7.jpg",),
        reply_to=("9",),
        extra={"cid": "abc"},
    )
    any_store.save_post(post, ["q"])
    assert any_store.latest("q", 1) == [post]


def test_media_avatar_and_content_warning_round_trip(any_store: Store) -> None:
    post = make_post(
        8,
        "Spoilers\n\nthe ending",
        media_types=("photo", "video"),
        media=(
            Media("photo", "https://pbs.twimg.com/media/a.jpg", None, "A heron", 1200, 800),
            Media("video", None, "https://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/p.jpg"),
        ),
        sensitive=True,
        content_warning="Spoilers",
    )
    post.author.avatar_url = "https://pbs.twimg.com/profile_images/42/a_normal.jpg"
    any_store.save_post(post, ["q"])
    assert any_store.latest("q", 1) == [post]
    assert any_store.get_post(post.key) == post


def _write_raw_record(store: Store, post_key: str, record: dict[str, Any]) -> None:
    """Put a record in the store as an earlier version of the app wrote it."""
    if isinstance(store, SQLiteStore):
        with closing(sqlite3.connect(store.path)) as conn, conn:
            conn.execute("UPDATE posts SET record = ? WHERE key = ?", (orjson.dumps(record), post_key))
    else:
        assert isinstance(store, RedisStore)
        store._redis.set(f"ts:post:{post_key}", orjson.dumps(record), keepttl=True)


def test_a_post_stored_before_media_existed_still_loads(any_store: Store) -> None:
    post = make_post(9, "an old post", media_types=("photo",))
    any_store.save_post(post, ["q"])
    old = post.to_record()
    for name in ("media", "sensitive", "content_warning"):
        del old[name]
    del old["author"]["avatar_url"]
    _write_raw_record(any_store, post.key, old)
    [loaded] = any_store.latest("q", 1)
    assert loaded == post
    assert loaded.media == () and loaded.author.avatar_url is None
    assert loaded.to_json()["media"] == [] and loaded.to_json()["author"]["avatar_url"] is None


def test_events_are_ordered_and_resume_after_a_cursor(any_store: Store) -> None:
    for post_id in range(1, 6):
        any_store.save_post(make_post(post_id), ["q"])
    events = any_store.events_after("q", "0")
    assert [e.post.id for e in events if e.post] == ["1", "2", "3", "4", "5"]
    assert [e.kind for e in events] == ["post"] * 5
    assert events == sorted(events, key=lambda e: e.order)
    middle = events[2].cursor
    assert [e.post_key for e in any_store.events_after("q", middle)] == ["x:4", "x:5"]
    assert any_store.head_cursor("q") == events[-1].cursor
    assert any_store.events_after("q", any_store.head_cursor("q")) == []


def test_find_post_event_turns_a_last_event_id_into_a_cursor(any_store: Store) -> None:
    for post_id in range(1, 4):
        any_store.save_post(make_post(post_id), ["q"])
    cursor = any_store.find_post_event("q", "2")
    assert cursor is not None
    assert [e.post_key for e in any_store.events_after("q", cursor)] == ["x:3"]
    assert any_store.find_post_event("q", "999") is None
    assert any_store.find_post_event("other", "2") is None


def test_embed_updates_the_post_and_publishes_on_its_queries(any_store: Store) -> None:
    any_store.save_post(make_post(1), ["a", "b"])
    head_a = any_store.head_cursor("a")
    assert sorted(any_store.set_embed("x:1", "<blockquote>hi</blockquote>")) == ["a", "b"]
    assert any_store.latest("a", 1)[0].embed_html == "<blockquote>hi</blockquote>"
    [event] = any_store.events_after("a", head_a)
    assert event.kind == "embed"
    assert event.post is not None and event.post.embed_html == "<blockquote>hi</blockquote>"
    assert any_store.set_embed("x:unknown", "<p></p>") == []


def test_delete_removes_the_post_from_pages_and_publishes(any_store: Store) -> None:
    any_store.save_post(make_post(1), ["q"])
    any_store.save_post(make_post(2), ["q"])
    head = any_store.head_cursor("q")
    assert any_store.delete_post("x:1") == ["q"]
    assert [p.id for p in any_store.latest("q", 10)] == ["2"]
    assert any_store.get_post("x:1") is None
    [event] = any_store.events_after("q", head)
    assert (event.kind, event.post_key) == ("delete", "x:1")
    assert any_store.delete_post("x:1") == []


def test_wait_for_events_wakes_when_another_thread_publishes(any_store: Store) -> None:
    head = any_store.head_cursor("q")
    received: list[str] = []
    waiting = threading.Event()

    def waiter() -> None:
        waiting.set()
        received.extend(e.post_key for e in any_store.wait_for_events({"q": head, "other": "0"}, timeout=10))

    thread = threading.Thread(target=waiter)
    thread.start()
    waiting.wait()
    any_store.save_post(make_post(1), ["q"])
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert received == ["x:1"]


def test_wait_for_events_returns_nothing_on_timeout(any_store: Store) -> None:
    any_store.save_post(make_post(1), ["other"])
    assert any_store.wait_for_events({"q": any_store.head_cursor("q")}, timeout=0.05) == []


def test_wait_for_events_only_returns_events_after_each_querys_cursor(any_store: Store) -> None:
    any_store.save_post(make_post(1), ["a", "b"])
    head_a = any_store.head_cursor("a")
    any_store.save_post(make_post(2), ["a", "b"])
    events = any_store.wait_for_events({"a": head_a, "b": "0"}, timeout=1)
    assert sorted((e.query_key, e.post_key) for e in events) == [("a", "x:2"), ("b", "x:1"), ("b", "x:2")]


def test_leases_sum_viewers_and_expire(any_store: Store) -> None:
    any_store.watch("#nyc", "#NYC", "web-1", 3, ttl=60)
    any_store.watch("#nyc", "#NYC", "web-2", 2, ttl=60)
    any_store.watch("cats", "cats", "web-1", 1, ttl=60)
    any_store.watch("gone", "gone", "web-1", 9, ttl=0)
    watched = any_store.watched()
    assert [(w.key, w.text, w.viewers) for w in watched] == [("#nyc", "#NYC", 5), ("cats", "cats", 1)]
    any_store.watch("#nyc", "#NYC", "web-1", 0, ttl=0)
    any_store.watch("#nyc", "#NYC", "web-2", 0, ttl=0)
    assert [w.key for w in any_store.watched()] == ["cats"]


def test_a_renewed_lease_keeps_its_first_watch_time(any_store: Store) -> None:
    any_store.watch("q", "q", "a", 1, ttl=60)
    since = any_store.watched()[0].since
    any_store.watch("q", "q", "b", 1, ttl=60)
    any_store.watch("q", "q", "a", 2, ttl=60)
    assert any_store.watched()[0].since == since


def test_watched_since_and_count_agree_with_the_watched_list(any_store: Store) -> None:
    assert any_store.watched_since("#nyc") is None
    assert any_store.watched_count() == 0
    any_store.watch("#nyc", "#NYC", "web-1", 3, ttl=60)
    any_store.watch("#nyc", "#NYC", "web-2", 2, ttl=60)
    any_store.watch("cats", "cats", "web-1", 1, ttl=60)
    any_store.watch("gone", "gone", "web-1", 9, ttl=0)
    any_store.watch("#nyc:", "#nyc:", "web-1", 1, ttl=0)  # a key that starts like another, not watched
    watched = {w.key: w.since for w in any_store.watched()}
    assert any_store.watched_count() == len(watched) == 2
    assert {key: any_store.watched_since(key) for key in ("#nyc", "cats", "gone", "#nyc:", "#ny")} == {
        "#nyc": watched["#nyc"],
        "cats": watched["cats"],
        "gone": None,
        "#nyc:": None,
        "#ny": None,
    }
    any_store.watch("cats", "cats", "web-1", 0, ttl=0)  # the lease ends early
    assert any_store.watched_since("cats") is None
    assert any_store.watched_count() == 1


def test_state_round_trips_json(any_store: Store) -> None:
    assert any_store.get_state("cursor") is None
    any_store.set_state("cursor", {"time_us": 1783175888090631, "host": "a"})
    any_store.set_state("cursor", {"time_us": 1783175888090632, "host": "b"})
    assert any_store.get_state("cursor") == {"time_us": 1783175888090632, "host": "b"}


def test_lock_has_one_holder_until_released_or_expired(any_store: Store) -> None:
    assert any_store.acquire_lock("ingester", "a", ttl=60)
    assert not any_store.acquire_lock("ingester", "b", ttl=60)
    assert any_store.acquire_lock("ingester", "a", ttl=60)  # renewal
    any_store.release_lock("ingester", "b")  # not b's to release
    assert not any_store.acquire_lock("ingester", "b", ttl=60)
    any_store.release_lock("ingester", "a")
    assert any_store.acquire_lock("ingester", "b", ttl=0.001)
    threading.Event().wait(0.01)  # let the 1 ms lease run out
    assert any_store.acquire_lock("ingester", "a", ttl=60)


def test_trim_keeps_the_newest_matches_per_query(any_store: Store) -> None:
    any_store.watch("q", "q", "a", 1, ttl=60)
    for post_id in range(1, 21):
        any_store.save_post(make_post(post_id), ["q"])
    any_store.trim(keep_per_query=5, keep_seconds=3600)
    assert [p.id for p in any_store.latest("q", 100)] == ["20", "19", "18", "17", "16"]


def test_trim_orders_posts_of_one_second_as_latest_does(any_store: Store) -> None:
    any_store.watch("q", "q", "a", 1, ttl=60)
    for post_id in range(11, 31):
        any_store.save_post(make_post(post_id, seconds=5), ["q"])  # one created_at for all
    newest = [p.id for p in any_store.latest("q", 5)]
    any_store.trim(keep_per_query=5, keep_seconds=3600)
    assert [p.id for p in any_store.latest("q", 100)] == newest


def test_trim_drops_the_matches_of_unwatched_queries_and_trims_every_watched_one(any_store: Store) -> None:
    watched = [f"w{n}" for n in range(120)]  # more queries than one trim transaction takes
    for key in watched:
        any_store.watch(key, key, "a", 1, ttl=60)
    for post_id in range(1, 5):
        any_store.save_post(make_post(post_id), [*watched, "gone"])
    any_store.trim(keep_per_query=3, keep_seconds=3600)
    assert all([p.id for p in any_store.latest(key, 10)] == ["4", "3", "2"] for key in watched)
    assert any_store.latest("gone", 10) == []


def test_concurrent_writers_store_each_post_once(any_store: Store) -> None:
    posts = [make_post(i) for i in range(1, 41)]
    results: list[list[str]] = []
    lock = threading.Lock()

    def writer() -> None:
        for post in posts:
            newly = any_store.save_post(post, ["q", "r"])
            with lock:
                results.append(newly)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(r) for r in results) == 80  # 40 posts x 2 queries, each matched exactly once
    assert len(any_store.latest("q", 100)) == 40
    assert len(any_store.events_after("q", "0")) == 40


def test_pace_counts_arrivals_per_period_newest_last(any_store: Store) -> None:
    for post_id in range(1, 4):
        any_store.save_post(make_post(post_id), ["q"])
    any_store.set_embed("x:1", "<p></p>")  # not an arrival
    assert any_store.pace("q", 30) == [0] * 29 + [3]
    assert any_store.pace("other", 5) == [0] * 5


def test_ping_answers(any_store: Store) -> None:
    any_store.ping()


def test_state_setdefault_keeps_the_first_value_and_every_racer_gets_it(any_store: Store) -> None:
    assert any_store.state_setdefault("key", "first") == "first"
    assert any_store.state_setdefault("key", "second") == "first"
    assert any_store.get_state("key") == "first"
    kept: list[str] = []
    start = threading.Barrier(8)

    def race(n: int) -> None:
        start.wait()
        kept.append(any_store.state_setdefault("raced", f"value-{n}"))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 8 and len(set(kept)) == 1
    assert any_store.get_state("raced") == kept[0]


# -- paging: before=, feeds and export read a query's posts page by page ---------------------------------------


def _walk(store: Store, key: str, limit: int, **window: object) -> list[str]:
    """Every page of ``key`` by posts_before, each cursor the last id of the page before."""
    seen: list[str] = []
    before = None
    while True:
        page = store.posts_before(key, before, limit, **window)  # type: ignore[arg-type]
        seen += [p.id for p in page]
        if len(page) < limit:
            return seen
        before = page[-1].id


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_walking_pages_visits_every_post_once_newest_first_as_latest_orders_them(any_store: Store, limit: int) -> None:
    # Ties on the post's time (several posts in one second) are where a time-only cursor loses posts.
    posts = [make_post(n, seconds=(n // 3) + 1) for n in range(1, 11)]
    posts.append(make_post("did:plc:abc*?[x]/3k2", source="bluesky", seconds=2))  # colons and glob characters
    for post in reversed(posts):
        any_store.save_post(post, ["q"])
    expected = [p.id for p in any_store.latest("q", 100)]
    assert len(expected) == 11
    assert _walk(any_store, "q", limit) == expected


def test_a_page_after_a_cursor_ignores_posts_that_arrived_meanwhile(any_store: Store) -> None:
    for n in range(1, 7):
        any_store.save_post(make_post(n), ["q"])
    first = any_store.posts_before("q", None, 3)
    any_store.save_post(make_post(100), ["q"])  # newer: the top of the next walk, not this one
    assert [p.id for p in any_store.posts_before("q", first[-1].id, 3)] == ["3", "2", "1"]


def test_paging_before_an_unknown_post_says_so(any_store: Store) -> None:
    any_store.save_post(make_post(1), ["q"])
    any_store.save_post(make_post(2), ["other"])
    with pytest.raises(UnknownPost):
        any_store.posts_before("q", "999", 10)
    with pytest.raises(UnknownPost):  # stored, but not a match of this query
        any_store.posts_before("q", "2", 10)


def test_a_page_mark_outlives_the_deletion_of_its_post(any_store: Store) -> None:
    for n in range(1, 6):
        any_store.save_post(make_post(n), ["q"])
    page, mark = any_store.posts_page("q", 2)
    assert [p.id for p in page] == ["5", "4"]
    any_store.delete_post("x:4")
    rest, end = any_store.posts_page("q", 10, mark)
    assert [p.id for p in rest] == ["3", "2", "1"]
    assert any_store.posts_page("q", 10, end) == ([], None)


def test_since_is_inclusive_and_until_exclusive(any_store: Store) -> None:
    for n in range(1, 11):
        any_store.save_post(make_post(n), ["q"])
    since, until = BASE_TIME + timedelta(seconds=3), BASE_TIME + timedelta(seconds=8)
    window = {"since": since, "until": until}
    assert [p.id for p in any_store.posts_before("q", None, 100, **window)] == ["7", "6", "5", "4", "3"]
    assert _walk(any_store, "q", 2, **window) == ["7", "6", "5", "4", "3"]
    assert [p.id for p in any_store.iter_posts("q", 2, since=since)] == ["10", "9", "8", "7", "6", "5", "4", "3"]


def test_iter_posts_reads_every_post_in_batches(any_store: Store) -> None:
    any_store.save_matches([(make_post(n), ["q"]) for n in range(1, 1001)])
    ids = [p.id for p in any_store.iter_posts("q", batch=64)]
    assert ids == [str(n) for n in range(1000, 0, -1)]
    assert list(any_store.iter_posts("nothing stored")) == []
