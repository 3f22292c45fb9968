"""The replay source: X stream messages, X response pages and Jetstream events, from a file or a FIFO."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import RecordingSink, running
from samples import SAMPLES
from twitterstream.config import DEMO_REPLAY_FILE, Settings
from twitterstream.sources.replay import ReplaySource, decode_replay_line


def compact(path: Path) -> str:
    return json.dumps(json.loads(path.read_text()), ensure_ascii=False, separators=(",", ":"))


@pytest.fixture
def run_replay() -> Iterator[Any]:
    with contextlib.ExitStack() as sources:

        def start(path: Path, rate: float = 0) -> RecordingSink:
            sink = RecordingSink()
            settings = Settings(source="replay", replay_file=str(path), replay_rate=rate)
            sources.enter_context(running(ReplaySource(settings, sink)))
            return sink

        yield start


def test_every_real_sample_replays_without_error(tmp_path: Path, run_replay: Any) -> None:
    capture = tmp_path / "samples.jsonl"
    x = sorted((SAMPLES / "x").glob("*.json"))
    bluesky = sorted((SAMPLES / "bluesky").glob("*.json"))
    capture.write_text("".join(compact(p) + "\n" for p in [*x, *bluesky] if p.name != "oembed.json"))
    sink = run_replay(capture)
    # 1 stream message + 10 + 4 search results + 4 Jetstream post creates; 1 delete; the rest skipped.
    sink.wait_for(lambda: len(sink.posts) == 19 and len(sink.deleted) == 1)
    assert {p.source for p in sink.posts} == {"x", "bluesky"}
    assert sink.deleted == ["bluesky:did:plc:4smmjsqf6l5jkzczvw6vsrqc/3mpt73z3ejc2p"]
    assert sink.statuses[-1].state == "connected"


def test_garbage_lines_are_skipped_not_fatal(tmp_path: Path, run_replay: Any) -> None:
    capture = tmp_path / "mixed.jsonl"
    capture.write_text('not json\n[1, 2]\n{"meta": {}}\n\n{"data": {"id": "7", "text": "survivor"}}\n')
    sink = run_replay(capture)
    sink.wait_for(lambda: [p.id for p in sink.posts] == ["7"])


def test_the_file_is_followed_as_it_grows(tmp_path: Path, run_replay: Any) -> None:
    capture = tmp_path / "growing.jsonl"
    capture.write_text('{"data": {"id": "1", "text": "one"}}\n')
    sink = run_replay(capture)
    sink.wait_for(lambda: len(sink.posts) == 1)
    with capture.open("a") as growing:
        growing.write('{"data": {"id": "2", "text": "tw')  # half a line: not a post yet
        growing.flush()
        growing.write('o"}}\n')
    sink.wait_for(lambda: [p.id for p in sink.posts] == ["1", "2"])
    assert sink.posts[1].text == "two"


def test_a_fifo_works(tmp_path: Path, run_replay: Any) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sink = run_replay(fifo)
    with fifo.open("w") as writer:  # opens once the source has it open for reading
        writer.write('{"data": {"id": "1", "text": "through a pipe"}}\n')
        writer.flush()
        sink.wait_for(lambda: [p.id for p in sink.posts] == ["1"])
        writer.write('{"data": {"id": "2", "text": "and again"}}\n')
    sink.wait_for(lambda: [p.id for p in sink.posts] == ["1", "2"])


def test_a_missing_file_says_so(tmp_path: Path, run_replay: Any) -> None:
    sink = run_replay(tmp_path / "nope.jsonl")
    sink.wait_for(lambda: sink.statuses and sink.statuses[-1].state == "stopped")
    assert "cannot open REPLAY_FILE=" in sink.statuses[-1].reason


def test_the_demo_file_plays_in_a_loop_with_fresh_ids(run_replay: Any) -> None:
    lines = Path(DEMO_REPLAY_FILE).read_text().splitlines()
    assert all(decode_replay_line(line.encode())[0] for line in lines)  # every demo line is a post
    sink = run_replay(Path(DEMO_REPLAY_FILE), rate=1_000_000)
    sink.wait_for(lambda: len(sink.posts) > len(lines))
    ids = [p.id for p in sink.posts]
    assert len(set(ids)) == len(ids)  # the second round has new ids
    assert not any("demo" not in (p.author.username or "") for p in sink.posts)  # synthetic people only


def test_the_demo_file_plays_once_at_rate_zero() -> None:
    """At rate 0 a loop would be an endless flood that starves everything else: the demo plays once."""
    lines = Path(DEMO_REPLAY_FILE).read_text().splitlines()
    sink = RecordingSink()
    with running(ReplaySource(Settings(source="replay", replay_file=DEMO_REPLAY_FILE, replay_rate=0), sink)):
        sink.wait_for(lambda: len(sink.posts) >= len(lines))
    assert len(sink.posts) == len(lines)
