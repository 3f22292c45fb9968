"""Export of a big query: time, posts/s and peak memory of streaming CSV (and JSON lines) out of SQLite.

Fills one SQLite file with ``--posts`` posts (default 1,000,000) matched to one query, and 1,000 to a second
query, straight through the store's API (``save_matches``, no trim: the store keeps them all). Each export
then runs in a fresh process that streams ``GET /api/v1/export`` through the WSGI app (the Flask test client,
unbuffered) and throws the bytes away: its peak RSS against the small export shows memory stays constant.

Run: python bench/bench_export.py [--posts 1000000] [--db PATH]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH = 5_000
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def fill(path: Path, big: int, small: int) -> float:
    """Store ``big`` posts for "#big" and ``small`` for "#small"; returns the seconds it took."""
    from twitterstream.models import Author, Post
    from twitterstream.store.sqlite import SQLiteStore

    store = SQLiteStore(path)
    started = time.perf_counter()
    for key, count in (("#big", big), ("#small", small)):
        for start in range(0, count, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, count)):
                post = Post(
                    id=f"{key[1:]}{n}",
                    source="x",
                    url=f"https://x.com/someone/status/{n}",
                    text=f'Post {n} of {key}, with "quotes", commas and a second line\nand Unicode: café 🎉',
                    created_at=BASE + timedelta(milliseconds=n * 10),
                    author=Author(id=str(n % 997), username=f"user{n % 997}", name=f"User {n % 997}"),
                    lang="en",
                    hashtags=(key[1:],),
                )
                batch.append((post, [key]))
            store.save_matches(batch)
    store.close()
    return time.perf_counter() - started


def export_once(path: str, query: str, kind: str) -> None:
    """Child process: stream one export, print posts, bytes, seconds and peak RSS (KiB)."""
    from twitterstream import create_app
    from twitterstream.config import Settings

    with tempfile.TemporaryDirectory() as instance:
        settings = Settings(source="replay", database_url=f"sqlite:///{path}")
        app = create_app({"SETTINGS": settings, "INSTANCE_PATH": instance, "TESTING": True})
        client = app.test_client()
        started = time.perf_counter()
        response = client.get("/api/v1/export", query_string={"q": query, "format": kind}, buffered=False)
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        response.close()
        app.extensions["hub"].stop()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{lines} {size} {elapsed} {peak_kib}")


def measure(path: Path, query: str, kind: str) -> tuple[int, int, float, float]:
    """Run one export in a fresh process: (lines, bytes, seconds, peak RSS in MiB)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), query, kind], check=True, capture_output=True, text=True
    ).stdout.split()
    lines, size, seconds, peak_kib = int(out[0]), int(out[1]), float(out[2]), int(out[3])
    return lines, size, seconds, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="reuse (or create) this SQLite file instead of a temporary one")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        export_once(*args.child)
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "export.sqlite3"
        if not path.exists():
            seconds = fill(path, args.posts, 1_000)
            size_mib = path.stat().st_size / 2**20
            print(f"stored {args.posts:,} + 1,000 posts in {seconds:.0f} s ({size_mib:,.0f} MiB file)")
        print()
        print("| export | posts | time | posts/s | MB/s | peak RSS |")
        print("|---|---:|---:|---:|---:|---:|")
        for query, kind in (("#small", "csv"), ("#big", "csv"), ("#big", "jsonl")):
            lines, size, seconds, peak = measure(path, query, kind)
            count = 1_000 if query == "#small" else args.posts
            # A CSV row of these posts spans two lines (the text has a line break), plus the header row.
            expected = count if kind == "jsonl" else 2 * count + 1
            assert lines == expected, f"{kind} export of {query}: {lines} lines, expected {expected}"
            print(
                f"| {kind}, {query} | {count:,} | {seconds:.1f} s | {count / seconds:,.0f} | "
                f"{size / seconds / 1e6:,.1f} | {peak:,.0f} MiB |"
            )


if __name__ == "__main__":
    main()
