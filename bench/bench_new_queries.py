"""Benchmark: new queries filled from a full recent window, and ``/healthz`` meanwhile.

    .venv/bin/python bench/bench_new_queries.py              # under a minute (filling the window)
    .venv/bin/python bench/bench_new_queries.py --queries 50 --window 10000   # quicker

* the server: a real ``twitterstream serve --port 0`` subprocess (gevent, SQLite in a temporary instance folder,
  the replay source reading a FIFO at ``REPLAY_RATE=0``; bench_live.py's ``Server``);
* the window: ``--window`` posts (default 50,000, the default ``RECENT_WINDOW_POSTS``) of bench_match.py's Zipf
  workload written into the FIFO with no query watched; the clock starts once ``/metrics`` counts them all;
* the new queries: ``--queries`` distinct queries of bench_match.py's kinds (``word``, ``word word``,
  ``word OR word``, ``#tag``, ``word -word``), each with at least one match in the window; ``--parallel``
  clients each ask ``GET /api/v1/results?q=...`` (which starts watching the query) for one after the other,
  each from its own loopback address (127.0.0.2, 127.0.0.3, ...): the server's per-client limit of new queries
  a minute (``TWITTERSTREAM_NEW_QUERIES_PER_MINUTE``, 30) holds for each, as for people asking at once;
* meanwhile a separate process asks ``GET /healthz`` every 10 ms on its own connection and times the answers,
  until every new query is filled.

"Asked" is the queries divided by the time until the last answer; "filled" the queries divided by the time
until the ingester had stored what the window holds for every one of them (its newest ``KEEP_PER_QUERY``
matches, counted here; ``/metrics`` ``posts_matched`` must reach their sum). Only loopback.

Below the table, the CPU time of the server and of the load generator (these clients, the sampler) over that
time, and how long the server's threads waited for a core while ready to run (Linux ``schedstat``): on a
shared host, the time other processes took from it. At 200 queries a run asks for about a second or less, so
``/healthz`` has a few dozen samples and its p99 is their maximum; ``--queries 1000`` gives more.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import multiprocessing.connection
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from bench_live import Server
from bench_match import Zipf, make_posts, make_queries, make_vocabulary, stream_line
from fakes.waiting import eventually
from twitterstream.models import Post
from twitterstream.query import PostFeatures, Query, QueryIndex

PAGE = 10  # the API's default limit
KEEP = 100  # KEEP_PER_QUERY's default: the matches the window fills a new query with
HEALTH_EVERY = 0.01
FILL_TIMEOUT = 300.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def pick_queries(count: int, vocabulary: list[str], posts: list[Post]) -> dict[str, list[str]]:
    """``count`` distinct queries with a match in ``posts``: key -> ids of its newest ``KEEP`` matches (what
    the window fills it with)."""
    candidates = make_queries(count * 20, vocabulary, random.Random(count))
    index = QueryIndex()
    for query in candidates:
        index.add(query.key, query)
    newest: dict[str, list[str]] = {}
    for post in reversed(posts):  # newest first
        for key in index.match(PostFeatures(post)):
            found = newest.setdefault(key, [])
            if len(found) < KEEP:
                found.append(post.id)
    chosen: list[Query] = [q for q in candidates if q.key in newest][:count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} of the generated queries match the window")
    return {q.key: newest[q.key] for q in chosen}


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def ask(host: str, port: int, client: int, keys: list[str], answers: list[float], errors: list[str]) -> None:
    """One client (loopback address ``127.0.0.<client + 2>``): asks for each of its new queries, one after
    the other (each request starts watching one); a failure goes to ``errors`` and ends the client."""
    connection = http.client.HTTPConnection(
        host, port, timeout=FILL_TIMEOUT, source_address=(f"127.0.0.{client + 2}", 0)
    )
    try:
        for key in keys:
            started = time.perf_counter()
            status, body = get(connection, f"/api/v1/results?q={quote(key)}&limit={PAGE}")
            if status != 200:
                errors.append(f"{key!r}: HTTP {status}: {body[:200]!r}")
                return
            answers.append(time.perf_counter() - started)
    except Exception as exc:
        errors.append(f"client {client}: {exc!r}")
    finally:
        connection.close()


def sample_health(host: str, port: int, control: multiprocessing.connection.Connection) -> None:
    """In its own process (its own GIL): time ``GET /healthz`` until told to stop, then send the timings."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    timings: list[float] = []
    control.send("ready")
    cpu = time.process_time()
    while not control.poll():
        started = time.perf_counter()
        status, _ = get(connection, "/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz: HTTP {status}")
        timings.append(time.perf_counter() - started)
        time.sleep(HEALTH_EVERY)
    control.send((timings, time.process_time() - cpu))
    connection.close()


def wait_for_metric(server: Server, name: str, value: float, timeout: float = 600.0, every: float = 0.05) -> None:
    """Until the server's ``/metrics`` shows ``name`` at ``value`` or more (a busy server may answer late)."""
    pattern = re.compile(rf"^{name} ([0-9.e+]+)$", re.M)

    def reached() -> bool:
        status, body = server.get("/metrics", timeout=timeout)
        found = pattern.search(body.decode())
        if status != 200 or not found:
            raise RuntimeError(f"/metrics has no {name} (status {status})")
        return float(found.group(1)) >= value

    eventually(reached, timeout, f"{name} to reach {value}", every=every, detail=lambda: server.log_text()[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=50_000, help="posts in the recent window (50,000)")
    parser.add_argument("--queries", type=int, default=200, help="new queries to fill (200)")
    parser.add_argument("--parallel", type=int, default=16, help="clients asking at once (16)")
    args = parser.parse_args()
    if not 1 <= args.parallel <= 250:
        parser.error("--parallel must be 1 to 250 (one loopback address each)")

    rng = random.Random(11)
    vocabulary = make_vocabulary(rng)
    posts = make_posts(args.window, Zipf(vocabulary, rng), rng)
    expected = pick_queries(args.queries, vocabulary, posts)
    payload = b"".join(stream_line(post) + b"\n" for post in posts)

    with tempfile.TemporaryDirectory() as tmp:
        server = NewQueryServer(Path(tmp), -(-args.queries // args.parallel))
        try:
            writer = threading.Thread(target=write_all, args=(server.fd, payload))
            writer.start()
            wait_for_metric(server, "twitterstream_posts_received_total", len(posts))
            writer.join()

            ours, theirs = multiprocessing.Pipe()
            sampler = multiprocessing.Process(
                target=sample_health, args=(server.host, server.port, theirs), daemon=True
            )
            sampler.start()
            ours.recv()
            keys = list(expected)
            answers: list[float] = []
            errors: list[str] = []
            clients = [
                threading.Thread(
                    target=ask, args=(server.host, server.port, n, keys[n :: args.parallel], answers, errors)
                )
                for n in range(args.parallel)
            ]
            server_cpu, our_cpu, server_waited = server.cpu_seconds(), time.process_time(), runqueue_wait(server.pid)
            started = time.perf_counter()
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            asked = time.perf_counter() - started
            if errors:
                ours.send("stop")
                raise SystemExit("a client failed: " + "; ".join(errors[:3]))
            # filled: the window's matches of every new query stored (the stream had no watched query before)
            matches = sum(map(len, expected.values()))
            wait_for_metric(server, "twitterstream_posts_matched_total", matches, every=0.01)  # the asking is over
            filled = time.perf_counter() - started
            server_cpu, our_cpu = server.cpu_seconds() - server_cpu, time.process_time() - our_cpu
            server_waited = runqueue_wait(server.pid) - server_waited
            ours.send("stop")
            health, sampler_cpu = ours.recv()
            sampler.join(10)
        finally:
            status = server.stop()
        if status not in (0, None):
            print(f"the server exited with status {status}", file=sys.stderr)

    print(
        f"`python bench/bench_new_queries.py` (Python {platform.python_version()}, {platform.machine()}; "
        f"one `twitterstream serve`, replay source, SQLite; {args.parallel} clients at once)"
    )
    print()
    print(
        "| window posts | new queries | asked: queries/s | answer p50 / p99 | filled: queries/s "
        "| /healthz p50 | /healthz p99 | /healthz samples |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {len(posts):,} | {len(keys)} | {len(keys) / asked:,.1f} "
        f"| {ms(statistics.median(answers))} / {ms(percentile(answers, 0.99))} | {len(keys) / filled:,.1f} "
        f"| {ms(statistics.median(health))} | {ms(percentile(health, 0.99))} | {len(health)} |"
    )
    print()
    print(
        f"CPU from the first question until filled ({filled:.2f} s on {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}): the server {server_cpu:.2f} s ({ms(server_cpu / len(keys))} per new query), "
        f"the clients {our_cpu:.2f} s, the /healthz sampler {sampler_cpu:.2f} s; the server's threads waited "
        f"{server_waited:.2f} s for a free core (ready to run, in the kernel's run queue)"
    )


class NewQueryServer(Server):
    """bench_live.py's server, allowing each client its share of the new queries within the minute (the
    default limit, 30, covers 200 queries from 16 clients)."""

    def __init__(self, folder: Path, per_client: int) -> None:
        self.per_client = per_client
        super().__init__(folder)

    def env(self, **extra: str) -> dict[str, str]:
        per_minute = str(max(self.per_client, 30))
        return super().env(TWITTERSTREAM_NEW_QUERIES_PER_MINUTE=per_minute, **extra)


def runqueue_wait(pid: int) -> float:
    """Seconds the threads of ``pid`` have waited, ready to run, for a core (Linux ``schedstat``; 0 elsewhere):
    on a shared host, what other processes took from the server."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):  # a thread that just ended
            continue
    return total / 1e9


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def write_all(fd: int, payload: bytes) -> None:
    """All of ``payload`` into the FIFO (the reader may take it in pieces)."""
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view[: 1 << 16]) :]


if __name__ == "__main__":
    main()
