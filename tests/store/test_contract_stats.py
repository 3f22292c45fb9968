"""Live stats in the store: exact counts by arrival minute, on SQLite and on Redis alike."""

from __future__ import annotations

import pytest

from helpers import make_post
from twitterstream.store import Store
from twitterstream.store import stats as stats_module
from twitterstream.store.redis import RedisStore
from twitterstream.store.sqlite import SQLiteStore

#: A moment in the middle of a minute (minute 29,000,000 since the epoch, plus 30 seconds).
NOON = 29_000_000 * 60 + 30.0


class Clock:
    """The arrival clock of the stats, set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = NOON
        monkeypatch.setattr(stats_module, "clock", lambda: self.now)

    def minutes_later(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def test_counts_are_exact_with_more_posts_than_the_store_keeps(any_store: Store, clock: Clock) -> None:
    # 250 posts: the store keeps only the newest 100 per query after a trim, the stats count them all.
    batch = [
        (
            make_post(
                i,
                f"post {i}",
                username=f"user{i % 3}",
                hashtags=("Tag", "tag", "#Other"[1:]) if i % 2 else ("TAG",),
                lang="en" if i % 5 else None,
                media_types=("photo",) if i % 4 == 0 else (),
            ),
            ["q"],
        )
        for i in range(1, 251)
    ]
    any_store.watch("q", "q", "page", 1, 3600)  # trim keeps the matches of watched queries only
    any_store.save_matches(batch[:125])
    any_store.trim(100, 3600)
    any_store.save_matches(batch[125:])
    any_store.save_matches(batch[240:])  # saved again: not counted again
    any_store.trim(100, 3600)
    assert len(any_store.latest("q", 1000)) == 100

    counts = any_store.stats("q", 60)
    assert counts.minutes == 60
    assert counts.per_minute == [0] * 59 + [250]
    assert counts.posts == 250
    assert counts.hashtags == {"tag": 250, "other": 125}  # case folded; a post counts a tag once
    assert counts.authors == {"user0": 83, "user1": 84, "user2": 83}
    assert counts.languages == {"en": 200, "und": 50}
    assert counts.media == 62


def test_only_new_matches_of_the_query_are_counted(any_store: Store, clock: Clock) -> None:
    post = make_post(1, hashtags=("a",))
    any_store.save_post(post, ["q", "other"])
    any_store.save_post(post, ["q", "third"])
    any_store.set_embed(post.key, "<p></p>")  # not an arrival
    assert any_store.stats("q", 5).posts == 1
    assert any_store.stats("other", 5).posts == 1
    assert any_store.stats("third", 5).hashtags == {"a": 1}
    assert any_store.stats("never", 5).per_minute == [0] * 5


def test_the_window_is_the_current_minute_and_the_ones_before(any_store: Store, clock: Clock) -> None:
    clock.now = NOON - 30  # the first second of a minute
    any_store.save_post(make_post(1, hashtags=("old",)), ["q"])
    clock.minutes_later(1.99)  # the last second of the next minute
    any_store.save_post(make_post(2, hashtags=("mid",)), ["q"])
    clock.minutes_later(0.02)  # the first second of the one after
    any_store.save_post(make_post(3, hashtags=("new",)), ["q"])
    assert any_store.stats("q", 1).per_minute == [1]
    assert any_store.stats("q", 2).per_minute == [1, 1]
    assert any_store.stats("q", 3).per_minute == [1, 1, 1]
    assert any_store.stats("q", 3).hashtags == {"old": 1, "mid": 1, "new": 1}
    assert any_store.stats("q", 2).hashtags == {"mid": 1, "new": 1}

    clock.minutes_later(1)  # a minute on: the oldest post leaves a three-minute window
    counts = any_store.stats("q", 3)
    assert counts.per_minute == [1, 1, 0]
    assert counts.hashtags == {"mid": 1, "new": 1}


def test_a_day_is_the_longest_window(any_store: Store, clock: Clock) -> None:
    any_store.save_post(make_post(1), ["q"])
    clock.minutes_later(1439)
    assert any_store.stats("q", 1440).per_minute == [1] + [0] * 1439
    clock.minutes_later(1)
    assert any_store.stats("q", 1440).posts == 0


def test_sqlite_trim_drops_counters_older_than_a_day(sqlite_store: SQLiteStore, clock: Clock) -> None:
    sqlite_store.save_post(make_post(1, hashtags=("a",)), ["q"])
    clock.minutes_later(1439)
    sqlite_store.save_post(make_post(2, hashtags=("b",)), ["q"])
    sqlite_store.trim(100, 10 * 86400)
    with sqlite_store._read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM stats").fetchone()[0] == 8  # two posts x n, a, t, l
    clock.minutes_later(1)  # the first minute is now a day old
    sqlite_store.trim(100, 10 * 86400)
    with sqlite_store._read() as conn:
        assert {r[0] for r in conn.execute("SELECT name FROM stats")} == {"n", "a:someone", "t:b", "l:und"}


def test_redis_counters_expire_a_day_after_their_minute(redis_server: str, clock: Clock) -> None:
    import redis

    redis.Redis.from_url(redis_server).flushdb()
    store = RedisStore(redis_server)
    try:
        store.save_post(make_post(1), ["q"])
        keys = store._redis.keys("ts:q:*:stats:*")
        assert len(keys) == 1
        assert keys[0].decode().endswith(f":stats:{int(NOON // 60)}")
        assert 1440 * 60 < store._redis.ttl(keys[0]) <= 1441 * 60
    finally:
        store.close()
