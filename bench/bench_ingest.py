"""Benchmark: the whole ingest path, replay -> decode -> match -> store (SQLite), with 10 and 2,000 queries.

    .venv/bin/python bench/bench_ingest.py            # about half a minute
    .venv/bin/python bench/bench_ingest.py --quick
    .venv/bin/python bench/bench_ingest.py --serve    # through a `twitterstream serve` process (gevent)

The posts and queries are bench_match.py's (Zipf vocabulary, 8 to 30 words, one- and two-term queries). The
lines are written into a FIFO that the real ingester reads through the replay source (REPLAY_RATE=0), after the
ingester has taken the watched queries into its index; the clock stops when the last post has been received
and stored (the ingester's writer stores what queued up meanwhile in one transaction). Embeds are off (replay).

With ``--serve`` the ingester is the one of a real ``twitterstream serve --port 0`` subprocess (gevent, web and
ingester in one process; bench_live.py's ``Server``), the queries watched in its SQLite file before it starts;
the clock stops when its ``/metrics`` count every post received and every match (computed here) stored.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench_live import Server
from bench_match import Zipf, make_posts, make_queries, make_vocabulary, stream_line
from bench_new_queries import wait_for_metric, write_all
from fakes.waiting import eventually
from twitterstream.config import Settings
from twitterstream.ingest import Ingester
from twitterstream.query import PostFeatures, QueryIndex, parse
from twitterstream.sources.replay import ReplaySource
from twitterstream.store import default_sqlite_file
from twitterstream.store.sqlite import SQLiteStore


def run(lines: list[bytes], queries: list[str], workdir: Path) -> tuple[float, int]:
    """Seconds to ingest ``lines`` with ``queries`` watched, and the matches stored."""
    fifo = workdir / f"replay-{len(queries)}"
    os.mkfifo(fifo)
    settings = Settings(source="replay", replay_file=str(fifo), replay_rate=0)
    store = SQLiteStore(workdir / f"bench-{len(queries)}.sqlite3")
    for key in queries:
        store.watch(key, key, "bench", 1, 3600)
    ingester = Ingester(settings, store, lambda sink: ReplaySource(settings, sink))
    ingester.start()
    eventually(lambda: ingester.counters.watched_queries == len(queries), 60, "the queries watched")
    payload = b"".join(line + b"\n" for line in lines)
    started = time.perf_counter()
    writer = threading.Thread(target=fifo.write_bytes, args=(payload,))
    writer.start()
    eventually(lambda: ingester.counters.posts_received >= len(lines), 600, "every post received", every=0.001)
    ingester.flush()  # and stored
    elapsed = time.perf_counter() - started
    writer.join()
    matched = ingester.counters.posts_matched
    ingester.stop()
    store.close()
    return elapsed, matched


def run_serve(lines: list[bytes], queries: list[str], expected_matches: int, workdir: Path) -> tuple[float, int]:
    """Seconds for a ``twitterstream serve`` process to ingest ``lines`` with ``queries`` watched."""
    folder = workdir / f"serve-{len(queries)}"
    (folder / "instance").mkdir(parents=True)
    store = SQLiteStore(folder / "instance" / default_sqlite_file("replay"))  # the file serve opens
    for key in queries:
        store.watch(key, key, "bench", 1, 3600)
    store.close()
    server = Server(folder)
    try:
        wait_for_metric(server, "twitterstream_watched_queries", len(queries))
        payload = b"".join(line + b"\n" for line in lines)
        started = time.perf_counter()
        writer = threading.Thread(target=write_all, args=(server.fd, payload))
        writer.start()
        wait_for_metric(server, "twitterstream_posts_received_total", len(lines), every=0.01)
        wait_for_metric(server, "twitterstream_posts_matched_total", expected_matches, every=0.01)
        elapsed = time.perf_counter() - started
        writer.join()
    finally:
        status = server.stop()
    if status not in (0, None):
        raise SystemExit(f"the server exited with status {status}:\n{server.log_text()[-3000:]}")
    return elapsed, expected_matches


def count_matches(lines_posts: list[PostFeatures], queries: list[str]) -> int:
    """The matches the ingester must store: every post against every query, with the query index."""
    index = QueryIndex()
    for key in queries:
        index.add(key, parse(key))
    return sum(len(index.match(features)) for features in lines_posts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer posts")
    parser.add_argument("--serve", action="store_true", help="through a `twitterstream serve` subprocess")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case; the median is shown (1)")
    args = parser.parse_args()
    rng = random.Random(7)
    vocabulary = make_vocabulary(rng)
    posts = make_posts(5_000 if args.quick else 40_000, Zipf(vocabulary, rng), rng)
    lines = [stream_line(post) for post in posts]
    queries = {count: [q.key for q in make_queries(count, vocabulary, random.Random(count))] for count in (10, 2_000)}
    rates: dict[int, list[float]] = {count: [] for count in queries}
    matches: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.repeat):  # alternating, so that a noisy moment hits both
            for count, keys in queries.items():
                workdir = Path(tmp) / str(round_number)
                workdir.mkdir(exist_ok=True)
                if args.serve:
                    expected = count_matches([PostFeatures(post) for post in posts], keys)
                    elapsed, matches[count] = run_serve(lines, keys, expected, workdir)
                else:
                    elapsed, matches[count] = run(lines, keys, workdir)
                rates[count].append(len(lines) / elapsed)
    rows = [(count, statistics.median(rates[count]), matches[count]) for count in queries]
    base = rows[0][1]
    print(
        f"`python bench/bench_ingest.py` (Python {platform.python_version()}, {platform.machine()}; "
        f"{len(lines):,} posts, replay -> decode -> match -> SQLite"
        f"{', through `twitterstream serve` (gevent)' if args.serve else ''}; median of {args.repeat})"
    )
    print()
    print(
        f"| watched queries | posts/s through {'serve' if args.serve else 'the ingester'} "
        "| cost vs 10 | matches stored |"
    )
    print("|---:|---:|---:|---:|")
    for count, rate, matched in rows:
        print(f"| {count:,} | {rate:,.0f} | {base / rate:.2f}x | {matched:,} |")


if __name__ == "__main__":
    main()
