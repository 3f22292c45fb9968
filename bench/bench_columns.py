"""Benchmark: a columns page's one stream of six queries against six streams of one query each.

    .venv/bin/python bench/bench_columns.py [--pages 40] [--posts 400] [--redis redis://127.0.0.1:6379/0]

In one process (the app on SQLite, or Redis with ``--redis``; no ingester): ``--pages`` viewers, each following
the same six queries, either as one ``/api/v1/stream?q=...&q=...`` (a columns page) or as six
``/api/v1/stream?q=...`` (what a page without the merged stream would open). Each viewer reads its stream in a
thread through the WSGI app, as a server would. ``--posts`` posts are then stored in batches of 10, each matching
one to three of the six queries (seeded). Reported: every post reached every page exactly once per query it
matched (checked), the process CPU per post delivered to a page (hub, streams and the writer, all in this
process), the bytes sent per post, and the time until the last delivery. A post matching three queries is one
message on the merged stream and three on the single ones.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from twitterstream import create_app
from twitterstream.config import Settings
from twitterstream.models import Author, Post
from twitterstream.store import open_store

QUERIES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def make_post(n: int) -> Post:
    return Post(
        id=str(1_000_000 + n),
        source="x",
        url=f"https://x.com/bench/status/{1_000_000 + n}",
        text=f"bench post {n} with a few words in it",
        created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
        author=Author(id="1", username="bench", name="Bench"),
    )


class Viewer(threading.Thread):
    """One stream read to its end, as a server writes it out; parsed afterwards (outside the CPU measured)."""

    def __init__(self, app: Any, queries: list[str]) -> None:
        super().__init__(daemon=True)
        self.app, self.queries = app, queries
        self.chunks: list[bytes] = []
        self.posts = 0  # post events read (counted cheaply, to know when all arrived)
        self.ready = threading.Event()
        self.last = 0.0

    def run(self) -> None:
        client = self.app.test_client()
        answer = client.get("/api/v1/stream", query_string={"q": self.queries, "limit": 1}, buffered=False)
        try:
            for chunk in answer.response:
                self.ready.set()
                self.chunks.append(chunk)
                found = chunk.count(b"event: post\n")
                if found:
                    self.posts += found
                    self.last = time.monotonic()
        finally:
            answer.close()

    def got(self) -> Counter[tuple[str, str]]:
        """(post id, query key) of every post event read."""
        got: Counter[tuple[str, str]] = Counter()
        for block in b"".join(self.chunks).split(b"\n\n"):
            if block.startswith(b"event: post"):
                data = orjson.loads(block.split(b"data: ", 1)[1])
                got.update((data["id"], key) for key in data["queries"])
        return got


def run(shape: str, pages: int, posts: int, database_url: str, folder: Path) -> dict[str, float]:
    settings = replace(Settings(source="replay", replay_file=str(folder / "none.jsonl")), sse_keepalive_seconds=5.0)
    settings = settings.with_overrides(streams_per_client=10_000, new_queries_per_minute=10_000)
    store = open_store(database_url, str(folder), "replay")
    app = create_app({"SETTINGS": settings, "INSTANCE_PATH": str(folder), "STORE": store, "SECRET_KEY": "bench"})
    streams = [[q] for q in QUERIES] if shape == "six streams" else [QUERIES]
    viewers = [Viewer(app, queries) for _ in range(pages) for queries in streams]
    for viewer in viewers:
        viewer.start()
    for viewer in viewers:
        viewer.ready.wait(10)
    rng = random.Random(7)
    matches = [(make_post(n), rng.sample(QUERIES, rng.randint(1, 3))) for n in range(posts)]
    messages = posts * pages if shape == "one stream of six" else sum(len(keys) for _, keys in matches) * pages
    for viewer in viewers:
        viewer.chunks.clear()
        viewer.posts = 0
    cpu, start = time.process_time(), time.monotonic()
    for first in range(0, posts, 10):
        store.save_matches(matches[first : first + 10])
    deadline = time.monotonic() + 120
    while sum(v.posts for v in viewers) < messages and time.monotonic() < deadline:
        time.sleep(0.01)
    cpu, elapsed = time.process_time() - cpu, max(v.last for v in viewers) - start
    got: Counter[tuple[str, str]] = Counter()
    for viewer in viewers:
        got.update(viewer.got())
    wanted = Counter({(post.id, key): pages for post, keys in matches for key in keys})
    wrong = {k: n for k, n in (got | wanted).items() if got[k] != wanted[k]}
    bytes_sent = sum(len(c) for v in viewers for c in v.chunks)
    app.extensions["hub"].stop()
    for viewer in viewers:
        viewer.join(5)
    store.close()
    if wrong:
        print(f"{shape}: deliveries wrong for {len(wrong)} (post, query) pairs", file=sys.stderr)
        sys.exit(1)
    return {
        "streams": len(viewers),
        "cpu_us": cpu / (posts * pages) * 1e6,
        "bytes": bytes_sent / (posts * pages),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--redis", help="a Redis URL (its database is used as it is: give a scratch one)")
    args = parser.parse_args()
    print(f"{args.pages} pages of 6 queries, {args.posts} posts each matching 1 to 3 of them\n")
    print("| shape | store | open streams | CPU per post and page | bytes per post and page | last delivery |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for shape in ("one stream of six", "six streams"):
        with tempfile.TemporaryDirectory() as folder:
            url = args.redis or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            if args.redis:
                import redis

                redis.Redis.from_url(args.redis).flushdb()
            figures = run(shape, args.pages, args.posts, url, Path(folder))
        store = "Redis" if args.redis else "SQLite"
        print(
            f"| {shape} | {store} | {figures['streams']:,.0f} | {figures['cpu_us']:,.0f} µs | "
            f"{figures['bytes']:,.0f} B | {figures['seconds']:.2f} s |"
        )


if __name__ == "__main__":
    main()
