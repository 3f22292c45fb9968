"""Benchmark: live stats on SQLite (and Redis with ``--redis URL``): what counting costs the ingest path, and
what a read costs with a small and a large store.

    .venv/bin/python bench/bench_stats.py                          # about half a minute
    .venv/bin/python bench/bench_stats.py --redis redis://127.0.0.1:6379/15   # that database is emptied

Write: 10,000 posts (2 hashtags each, 500 authors, 5 languages, one in four with media) saved in batches of
50, as the ingester's writer does, each matching 2 queries; per post with the counting on and off (the same
store code with ``_count_arrivals`` a no-op, each on a new file; SQLite only: on Redis it is inside the save
script).
Read: ``stats(query, 60)`` and ``stats(query, 1440)`` of a query whose posts arrived over the last day
(20 per minute), before and after 100,000 more matches of other queries were stored: the figure does not
move, since a read touches only the window's counters of that query.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from twitterstream.models import Author, Post
from twitterstream.store import Store
from twitterstream.store import stats as stats_module
from twitterstream.store.sqlite import SQLiteStore

BATCH = 50
NOW = time.time()


def _posts(count: int, start: int, rng: random.Random) -> list[Post]:
    tags = [f"tag{i}" for i in range(300)]
    return [
        Post(
            id=str(start + i),
            source="x",
            url=f"https://x.com/u/status/{start + i}",
            text="bench post",
            created_at=datetime.now(UTC),
            author=Author(id=str(i % 500), username=f"user{i % 500}"),
            lang=rng.choice(["en", "fr", "de", "es", None]),
            hashtags=(rng.choice(tags).upper(), rng.choice(tags)),
            media_types=("photo",) if i % 4 == 0 else (),
        )
        for i in range(count)
    ]


def _save(store: Store, posts: list[Post], keys: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(posts), BATCH):
        store.save_matches([(post, keys) for post in posts[start : start + BATCH]])
    return time.perf_counter() - started


def _read_ms(store: Store, minutes: int) -> float:
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        store.stats("day", minutes)
    return (time.perf_counter() - started) / rounds * 1000


def _fill_day(store: Store, rng: random.Random) -> None:
    """20 posts in each minute of the last day for the query "day"."""
    minute_posts = _posts(1440 * 20, 10_000_000, rng)
    for minute in range(1440):
        stats_module.clock = lambda m=minute: NOW - (1439 - m) * 60  # type: ignore[misc]
        store.save_matches([(p, ["day"]) for p in minute_posts[minute * 20 : (minute + 1) * 20]])
    stats_module.clock = lambda: NOW  # type: ignore[misc]


def bench(name: str, open_store: Callable[[], Store], can_switch_off: bool) -> None:
    rng = random.Random(7)
    posts = _posts(10_000, 1, rng)
    row = f"| {name}"
    for counting in (True, False) if can_switch_off else (True,):
        store = open_store()
        if not counting:
            store._count_arrivals = lambda conn, saved: None  # type: ignore[attr-defined]
        row += f" | {_save(store, posts, ['q1', 'q2']) / len(posts) * 1e6:,.0f} µs"
        store.close()
    if not can_switch_off:
        row += " | n/a"
    store = open_store()
    _fill_day(store, rng)
    small = (_read_ms(store, 60), _read_ms(store, 1440))
    _save(store, _posts(50_000, 20_000_000, rng), ["other1", "other2"])  # 100,000 matches of other queries
    large = (_read_ms(store, 60), _read_ms(store, 1440))
    store.close()
    print(f"{row} | {small[0]:.1f} / {large[0]:.1f} ms | {small[1]:.0f} / {large[1]:.0f} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="also on this Redis database (it is emptied)")
    args = parser.parse_args()
    print(
        "| store | save per post (2 queries), counting | not counting | read 60 min: small / large store "
        "| read 1,440 min: small / large |"
    )
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        files = iter(range(100))
        bench("SQLite", lambda: SQLiteStore(Path(tmp) / f"bench-{next(files)}.sqlite3"), True)
    if args.redis:
        import redis

        from twitterstream.store.redis import RedisStore

        def fresh() -> Store:
            redis.Redis.from_url(args.redis).flushdb()
            return RedisStore(args.redis)

        bench("Redis", fresh, False)


if __name__ == "__main__":
    main()
