"""How long the SQLite store's housekeeping (trim) holds up the ingester's writes.

Run: .venv/bin/python bench/bench_trim.py [--queries N] [--matches-per-query N] [--keep N]

Fills a SQLite store in a temporary folder with ``queries`` watched queries holding ``matches-per-query``
matches each (posts shared by several queries, as on a Zipf workload), then trims it to ``keep`` per
query while a writer thread stores one new post after another, as the ingester does. Prints the trim's
duration and the writer's latency during it: the longest write is how long the ingester stood still.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from twitterstream.models import Author, Post
from twitterstream.store.sqlite import SQLiteStore

START = datetime(2026, 1, 1, tzinfo=UTC)


def post(number: int) -> Post:
    """A small post, one second after the previous one."""
    return Post(
        id=str(number),
        source="x",
        url=f"https://x.com/bench/status/{number}",
        text=f"post {number}",
        created_at=START + timedelta(seconds=number),
        author=Author(id="1", username="bench", name="Bench"),
    )


def fill(store: SQLiteStore, queries: list[str], matches_per_query: int, seed: int = 7) -> int:
    """Store posts until every query has about ``matches_per_query`` matches; the number of matches."""
    rng = random.Random(seed)
    per_post = 7  # queries a post matches
    posts = len(queries) * matches_per_query // per_post
    batch: list[tuple[Post, list[str]]] = []
    for number in range(1, posts + 1):
        batch.append((post(number), rng.sample(queries, per_post)))
        if len(batch) == 1000:
            store.save_matches(batch)
            batch.clear()
    store.save_matches(batch)
    return posts * per_post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--matches-per-query", type=int, default=231)
    parser.add_argument("--keep", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "bench.sqlite3")
        queries = [f"q{n}" for n in range(args.queries)]
        for key in queries:
            store.watch(key, key, "bench", 1, ttl=3600)
        matches = fill(store, queries, args.matches_per_query)
        print(f"store: {args.queries} queries, {matches:,} matches; trim to {args.keep} per query")

        latencies: list[float] = []
        trimming = threading.Event()
        done = threading.Event()

        def writer() -> None:
            number = 10**8
            trimming.wait()
            while not done.is_set():
                number += 1
                began = time.perf_counter()
                store.save_post(post(number), queries[:2])
                latencies.append(time.perf_counter() - began)

        thread = threading.Thread(target=writer)
        thread.start()
        trimming.set()
        began = time.perf_counter()
        store.trim(keep_per_query=args.keep, keep_seconds=3600)
        took = time.perf_counter() - began
        done.set()
        thread.join()
        store.close()
    latencies.sort()
    print(f"trim: {took * 1000:,.0f} ms")
    print(
        f"writes during the trim: {len(latencies)}, latency p50 {statistics.median(latencies) * 1000:.1f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, longest {latencies[-1] * 1000:,.0f} ms"
    )


if __name__ == "__main__":
    main()
