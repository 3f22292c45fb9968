"""Benchmark: X at 250 posts/s and the whole Bluesky firehose on one ingester, 2,000 watched queries.

    .venv/bin/python bench/bench_multisource.py               # 60 s of traffic, about two minutes in all
    .venv/bin/python bench/bench_multisource.py --seconds 20  # shorter

The real ingester (``twitterstream ingest``: gevent, SQLite, ``TWITTERSTREAM_SOURCE=x,bluesky``, embeds on)
runs in a process of its own against the test fakes, which this process serves and feeds:

* **X**: the fake X API (rules, usage, oEmbed, the stream). The ingester puts its rules there; this process
  then streams 250 posts/s, each matching at least one of them, as X does: each stream message lists its
  ``matching_rules``, found here with the query index over the rules X holds (the fake's own rule model
  takes about 13 ms a post, slower than X's pace). Posts are X API v2 objects from the fake's ``make_post``.
* **Bluesky**: the fake Jetstream, fed 2,000 events/s of bench_jetstream.py's capture mix (55 % likes,
  18 % reposts, 15 % post creates ...). The source subscribes as it does in production
  (``wantedCollections=app.bsky.feed.post``), so the fake passes it the posts, deletes, identity and account
  events (about a fifth). Authors are 50,000 DIDs whose profiles a small fake AppView here answers.
* **Queries**: 2,000 distinct, of one or two terms as in bench_match.py, words drawn by Zipf rank (popular
  topics are watched more; the 100 commonest words, the function words, never); 800 on both networks, 200 with
  ``source:x``, 1,000 with ``source:bluesky``, so X holds 1,000 rules (its cap on pay-per-use).

Printed: what was sent and what the ingester received and stored, per network; the lag of each stored post
(stored in SQLite minus the post's creation time, stamped when this process made it); and the ingester's CPU
over the traffic (user + system time of its process, from /proc, divided by wall time: 1.00 is one core).
Linux only (/proc). The fakes' work is in this process, not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from bench_jetstream import MIX, EventMaker
from bench_match import Zipf, make_vocabulary
from fakes.bluesky_profiles import FakeProfiles
from fakes.jetstream import FakeJetstream, fake_did
from fakes.waiting import eventually
from fakes.x_api import FakeX
from fakes.x_posts import make_post
from twitterstream.query import Query, QueryIndex, parse
from twitterstream.query.index import HASHTAG, WORD, required_terms
from twitterstream.query.networks import on_source, only_on
from twitterstream.sources.x_payload import post_from_tweet
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.store.state import INGESTER_STATE, IngesterState

X_RATE, JETSTREAM_RATE, QUERY_COUNT = 250, 2_000, 2_000
TOKEN = "bench-token"
TICKS = os.sysconf("SC_CLK_TCK")


# -- the workload ---------------------------------------------------------------------------------------------------
def make_queries(zipf: Zipf, rng: random.Random) -> list[Query]:
    """2,000 distinct queries (see the module docstring): 800 on both networks, 200 on X, 1,000 on Bluesky."""
    found: dict[str, Query] = {}
    while len(found) < QUERY_COUNT:
        first, second = zipf.words(2)
        kind = rng.random()
        text = (
            first
            if kind < 0.55
            else f"{first} {second}"
            if kind < 0.75
            else f"{first} OR {second}"
            if kind < 0.85
            else f"#{first}"
            if kind < 0.95
            else f"{first} -{second}"
        )
        query = parse(text)
        share = len(found) / QUERY_COUNT
        if share >= 0.4:
            query = only_on(query, ["x"] if share < 0.5 else ["bluesky"])
        found.setdefault(query.key, query)
    return list(found.values())


class XFeed:
    """Posts for the X stream, each matching at least one rule X holds, with X's ``matching_rules``."""

    def __init__(self, fake: FakeX, queries: list[Query], zipf: Zipf, rng: random.Random) -> None:
        self.fake, self.zipf, self.rng = fake, zipf, rng
        rules = {str(rule["value"]): (rule_id, str(rule["tag"])) for rule_id, rule in fake.rules.items()}
        self.rules = rules
        self.index = QueryIndex()
        for value in rules:
            self.index.add(value, parse(value))
        views = [seen for query in queries if (seen := on_source(query, "x")) is not None]
        self.hooks = [
            term for seen in views for term in (required_terms(seen.tree) or ()) if term[0] in (WORD, HASHTAG)
        ]

    def send(self) -> bool:
        """Stream one post (False: the words drawn matched no rule; X would not send it)."""
        namespace, value = self.rng.choice(self.hooks)
        words = self.zipf.words(self.rng.randint(8, 30))
        words.insert(self.rng.randrange(len(words) + 1), f"#{value}" if namespace == HASHTAG else value)
        number = self.rng.randrange(100_000)
        post, user = make_post(None, " ".join(words), author_id=str(10**6 + number), username=f"user{number}")
        matched = self.index.match(post_from_tweet(post, {"users": [user]}))
        if not matched:
            return False
        self.fake.publish(post, users=[user], deliver=False)  # for its oEmbed
        rules = [{"id": self.rules[value][0], "tag": self.rules[value][1]} for value in matched]
        self.fake.send_message({"data": post, "includes": {"users": [user]}, "matching_rules": rules})
        return True


class BlueskyFeed:
    """Jetstream events of the capture mix, stamped now."""

    def __init__(self, fake: FakeJetstream, zipf: Zipf, rng: random.Random) -> None:
        self.fake, self.rng = fake, rng
        self.maker = EventMaker(rng, zipf)
        self.maker.dids = [fake_did(f"user{n}.bsky.social") for n in range(50_000)]
        self.kinds, self.weights = zip(*MIX, strict=True)
        self.posts = 0

    def send(self) -> bool:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        self.maker.time_us = time.time_ns() // 1000
        self.fake.publish(getattr(self.maker, kind)())
        self.posts += kind == "post"
        return True


def pace(send: Callable[[], bool], rate: float, seconds: float, sent: list[int]) -> None:
    """Call ``send`` ``rate`` times a second (catching up after a slow moment) for ``seconds``."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        while sent[0] < int(elapsed * rate):
            sent[0] += send()
        time.sleep(0.002)


# -- the services this process plays -------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> float:
    """Seconds of CPU the whole machine has spent busy (every process, every core) since it started."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS  # all but idle and iowait


def settle(
    store: SQLiteStore, process: subprocess.Popen[bytes], expected: dict[str, float], quiet: float = 3.0
) -> tuple[float, float, dict[str, float]]:
    """Wait until the ingester has received every post sent and its stored matches stop growing; the time and its
    CPU time when they last grew (the ingester publishes its counters once a second), and the counters."""
    counts = received(store)
    changed, cpu = time.monotonic(), cpu_seconds(process.pid)
    deadline = changed + 300
    while time.monotonic() - changed < quiet or any(counts.get(n, 0) < c for n, c in expected.items()):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the ingester did not store everything sent (last counts: {counts})")
        time.sleep(0.1)
        now = received(store)
        if now != counts:
            counts, changed, cpu = now, time.monotonic(), cpu_seconds(process.pid)
    return changed, cpu, counts


def resident_mib(pid: int) -> float:
    """A process's resident memory (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def received(store: SQLiteStore) -> dict[str, float]:
    """Posts received per source and matches stored, as the ingester last published them."""
    raw = store.get_state(INGESTER_STATE)
    if not raw:
        return {}
    state = IngesterState.from_json(raw)
    counts = {name: float(one.get("counters", {}).get("posts_received", 0)) for name, one in state.sources.items()}
    counts["matched"] = float(state.counters.get("posts_matched", 0))
    counts["watched"] = float(state.counters.get("watched_queries", 0))
    return counts


def wait(predicate: Callable[[], bool], what: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    def done() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"the ingester exited ({process.returncode}) while waiting for {what}")
        return predicate()

    eventually(done, timeout, what, every=0.1)


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"{statistics.median(values) * 1000:,.0f} / {p99 * 1000:,.0f} / {values[-1] * 1000:,.0f}"


# -- the run --------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of traffic (60)")
    parser.add_argument(
        "--nice", type=int, default=0, help="the ingester's niceness (-10: ahead of the host's other work; needs root)"
    )
    args = parser.parse_args()
    rng = random.Random(16)
    vocabulary = make_vocabulary(rng)
    texts = Zipf(vocabulary, rng)
    queries = make_queries(Zipf(vocabulary[100:], rng), rng)
    x_rules = {seen.key for query in queries if (seen := on_source(query, "x")) is not None}
    with (
        FakeProfiles(default=("someone.bsky.social", "Someone")) as profiles,  # a fake AppView: every DID is someone
        tempfile.TemporaryDirectory() as tmp,
        FakeX(bearer_token=TOKEN, keepalive_interval=10.0, rate_limits={"search": 100_000}) as fake_x,
        FakeJetstream() as jetstream,
    ):
        database = Path(tmp) / "bench.sqlite3"
        store = SQLiteStore(database)
        for query in queries:
            store.watch(query.key, query.key, "bench", 1, 3600)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "TWITTER", "BLUESKY_", "MASTODON_"))}
        env.update(
            TWITTERSTREAM_SOURCE="x,bluesky",
            X_BEARER_TOKEN=TOKEN,
            X_API_URL=fake_x.base_url,
            X_OEMBED_URL=fake_x.oembed_url,
            BLUESKY_JETSTREAM_URL=jetstream.url,
            BLUESKY_PROFILE_URL=profiles.url,
            DATABASE_URL=f"sqlite:///{database}",
            TWITTERSTREAM_INSTANCE_PATH=tmp,
            SECRET_KEY="bench",
            LOG_LEVEL="INFO",
        )
        log = (Path(tmp) / "ingester.log").open("wb")
        argv = [sys.executable, "-m", "twitterstream", "ingest", "--host", "127.0.0.1", "--port", "0"]
        ingester = subprocess.Popen(
            argv, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(args.nice)
        )
        try:
            wait(lambda: received(store).get("watched") == len(queries), "the watched queries", ingester)
            wait(lambda: {str(r["value"]) for r in fake_x.rules.values()} == x_rules, "X's rules", ingester)
            wait(lambda: fake_x.active_streams == 1 and jetstream.active == 1, "both connections", ingester)
            time.sleep(3.0)  # the first backfills (empty window, X searches) are over
            x_feed, bluesky_feed = XFeed(fake_x, queries, texts, rng), BlueskyFeed(jetstream, texts, random.Random(7))
            before, started_cpu, started = received(store), cpu_seconds(ingester.pid), time.monotonic()
            machine_before, started_epoch, fakes_before = machine_busy(), time.time(), time.process_time()
            x_sent, events_sent = [0], [0]
            feeders = [
                threading.Thread(target=pace, args=(x_feed.send, X_RATE, args.seconds, x_sent)),
                threading.Thread(target=pace, args=(bluesky_feed.send, JETSTREAM_RATE, args.seconds, events_sent)),
            ]
            for feeder in feeders:
                feeder.start()
            for feeder in feeders:
                feeder.join()
            traffic = time.monotonic() - started
            memory, machine = resident_mib(ingester.pid), machine_busy() - machine_before
            fakes = time.process_time() - fakes_before
            expected = {"x": before.get("x", 0) + x_sent[0], "bluesky": before.get("bluesky", 0) + bluesky_feed.posts}
            finished, cpu, after = settle(store, ingester, expected)
            finished, cpu = finished - started, cpu - started_cpu
        finally:
            ingester.send_signal(signal.SIGTERM)
            ingester.wait(timeout=30)
            log.close()
        store.close()
        lags: dict[str, list[float]] = {"x": [], "bluesky": []}
        slices: dict[int, list[float]] = {}  # by 10 s of traffic
        with contextlib.closing(sqlite3.connect(database)) as db:  # the posts the ingester stored
            for key, created, stored in db.execute("SELECT key, created_at, stored_at FROM posts"):
                lags[key.split(":", 1)[0]].append(stored - created)
                slices.setdefault(int((created - started_epoch) // 10), []).append(stored - created)
    sent = {"x": x_sent[0], "events": events_sent[0], "bluesky": bluesky_feed.posts}
    timing = Timing(traffic, finished, cpu, machine / traffic, fakes / traffic, memory)
    report(args.seconds, args.nice, timing, sent, before, after, lags)
    p99s = [sorted(v)[min(len(v) - 1, int(len(v) * 0.99))] * 1000 for _, v in sorted(slices.items())]
    print(f"Lag p99 by 10 s of traffic (ms): {', '.join(f'{value:,.0f}' for value in p99s)}.")


class Timing(NamedTuple):
    traffic: float  # seconds of traffic
    finished: float  # seconds from its start until everything was stored
    cpu: float  # the ingester's CPU seconds over that time
    machine: float  # cores the whole machine kept busy during the traffic (this process, the ingester, others)
    fakes: float  # cores this process (the fakes and their feeds) kept busy
    memory: float  # the ingester's resident MiB at the end of the traffic


def report(
    seconds: float,
    nice: int,
    timing: Timing,
    sent: dict[str, int],
    before: dict[str, float],
    after: dict[str, float],
    lags: dict[str, list[float]],
) -> None:
    load = os.getloadavg()
    print(
        f"`python bench/bench_multisource.py --seconds {seconds:g}{f' --nice {nice}' if nice else ''}` "
        f"(Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, load {load[0]:.1f} {load[1]:.1f}; the machine kept "
        f"{timing.machine:.1f} cores busy during the traffic, {timing.fakes:.2f} of them the fakes); "
        "`twitterstream ingest`, SQLite, "
        f"{QUERY_COUNT:,} watched queries"
    )
    print()
    print("| network | sent | sent/s | posts received by the ingester | stored posts | lag p50 / p99 / max (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    rows = (
        ("X", "x", f"{sent['x']:,} posts", sent["x"]),
        ("Bluesky", "bluesky", f"{sent['events']:,} events ({sent['bluesky']:,} posts)", sent["events"]),
    )
    for label, name, what, count in rows:
        got = after.get(name, 0) - before.get(name, 0)
        share = got / max(sent[name], 1)
        print(
            f"| {label} | {what} | {count / timing.traffic:,.0f} | {got:,.0f} ({share:.1%}) | {len(lags[name]):,} "
            f"| {percentiles(lags[name])} |"
        )
    matched = after.get("matched", 0) - before.get("matched", 0)
    posts = sent["x"] + sent["bluesky"]
    share = timing.cpu / timing.traffic
    print()
    print(
        f"Ingester CPU: {timing.cpu:.1f} s for {timing.traffic:.0f} s of traffic (everything stored "
        f"{timing.finished - timing.traffic:.1f} s after it stopped): **{share:.2f} of one core** "
        f"({1 - share:.0%} to spare); resident memory {timing.memory:,.0f} MiB; {matched:,.0f} matches stored "
        f"({matched / max(posts, 1):.1f} per post)."
    )


if __name__ == "__main__":
    main()
