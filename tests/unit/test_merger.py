"""Merging several queries' events into one stream: each post once, and a resume token that never skips what
was not sent yet; the live hub hands a stream of several queries whole rounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import orjson

from harness import eventually
from helpers import make_post
from twitterstream.store import Event, EventKind
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.web.channel import CLOSE, Channel, Message, Subscription
from twitterstream.web.live import LiveHub
from twitterstream.web.merged_stream import Merger, Part, decode_token, encode_token, query_tag
from twitterstream.web.sse import post_body, with_queries

KEYS = ["cats", "dogs"]


def part(index: int, cursor: int, kind: str, post_id: int, sent: bool = True) -> Part:
    post = make_post(post_id)
    return Part(index, Event(str(cursor), KEYS[index], EventKind(kind), post.key, post), sent)


def decoded(messages: list[bytes]) -> list[tuple[str, str | None, dict]]:
    """(event, id or None, data) of each message."""
    out = []
    for message in messages:
        fields = dict(line.split(": ", 1) for line in message.decode().strip().split("\n"))
        out.append((fields["event"], fields.get("id"), orjson.loads(fields["data"])))
    return out


def positions(token: str | None) -> dict[str, str]:
    names = {query_tag(key): key for key in KEYS}
    return {names[tag]: cursor for tag, cursor in decode_token(token).items()}


def test_a_post_stored_for_two_queries_is_one_event_with_both_keys_in_the_order_asked() -> None:
    merger = Merger(KEYS, ["0", "0"])
    [(event, token, data)] = decoded(merger.messages([part(1, 2, "post", 7), part(0, 1, "post", 7)]))
    assert event == "post" and data["id"] == "7" and data["queries"] == ["cats", "dogs"]
    assert positions(token) == {"cats": "1", "dogs": "2"}


def test_interleaved_writes_give_tokens_that_skip_nothing_unsent() -> None:
    # a writer that appends per query: P and Q for cats, then P and Q for dogs
    merger = Merger(KEYS, ["0", "0"])
    parts = [part(0, 1, "post", 1), part(0, 2, "post", 2), part(1, 3, "post", 1), part(1, 4, "post", 2)]
    (_, first, p), (_, second, q) = decoded(merger.messages(parts))
    assert (p["id"], p["queries"], q["id"], q["queries"]) == ("1", KEYS, "2", KEYS)
    # cut off after P: cats resumes before Q's part (2 is not sent yet), dogs after P's (3)
    assert positions(first) == {"cats": "1", "dogs": "3"}
    assert positions(second) == {"cats": "2", "dogs": "4"}
    assert merger.positions == ["2", "4"]


def test_a_delete_between_two_arrivals_of_a_post_keeps_them_apart() -> None:
    merger = Merger(KEYS, ["0", "0"])
    parts = [part(0, 1, "post", 1), part(0, 2, "delete", 1), part(1, 3, "post", 1)]  # hidden, then back on dogs
    assert [(e, d.get("queries")) for e, _, d in decoded(merger.messages(parts))] == [
        ("post", ["cats"]),
        ("delete", None),
        ("post", ["dogs"]),
    ]


def test_parts_already_sent_only_move_the_positions() -> None:
    merger = Merger(KEYS, ["0", "5"])
    parts = [part(1, 6, "post", 1, sent=False), part(0, 7, "post", 2)]
    [(_, token, data)] = decoded(merger.messages(parts))
    assert data["queries"] == ["cats"] and positions(token) == {"cats": "7", "dogs": "6"}


def test_the_first_posts_give_the_positions_of_fresh_queries_only_with_the_last() -> None:
    merger = Merger(KEYS, [None, "4"])  # cats starts afresh, dogs resumes at 4
    first = [(make_post(1), [0]), (make_post(2), [0, 1])]
    (_, early, _), (_, last, data) = decoded(merger.fresh(first, [0], ["9", "8"]))
    assert positions(early) == {"dogs": "4"}
    assert positions(last) == {"cats": "9", "dogs": "4"} and data["queries"] == KEYS


def test_tokens_round_trip_and_anything_else_is_no_token() -> None:
    tags = [query_tag(key) for key in KEYS]
    assert decode_token(encode_token(tags, ["12", "1700000000000-3"])) == {tags[0]: "12", tags[1]: "1700000000000-3"}
    for junk in ["", "12", "zz:1", f"{tags[0]}:1,", f"{tags[0]}:1;{tags[1]}:2", f"{tags[0]}:-1", "x" * 1000]:
        assert decode_token(junk) == {}


def test_a_stream_of_several_queries_reads_only_whole_rounds(sqlite_store: SQLiteStore) -> None:
    hub = LiveHub(sqlite_store, grace_seconds=60, read_status=lambda: {"state": "connected"}, heartbeat_seconds=60)
    group = object()
    cats, dogs = hub.subscribe("cats", "cats", group=group), hub.subscribe("dogs", "dogs", group=group)
    assert hub.open_streams() == 1
    sqlite_store.save_post(make_post(1), ["cats", "dogs"])
    taken: list[tuple[str, str]] = []
    deadline = time.monotonic() + 5
    while not taken and time.monotonic() < deadline:
        ready = hub.round_ready  # before reading: a round ending after the reads sets it
        for subscription in (cats, dogs):
            while (message := subscription.take(settled_only=True)) is not None:
                if message.event is not None:
                    taken.append((message.event.query_key, message.event.post_key))
        if not taken:
            ready.wait(1)  # a status round may come first
    assert taken == [("cats", "x:1"), ("dogs", "x:1")]  # both halves of the write, with their events
    hub.unsubscribe(cats)
    assert cats.channel.merged == 0
    hub.stop()
    assert dogs.take(settled_only=True) is CLOSE


def test_a_channel_holds_back_what_is_published_until_the_round_is_settled() -> None:
    channel = Channel(max_pending=10)
    single, merged = Subscription("cats", channel), Subscription("cats", channel, group=object())
    post = make_post(1)
    channel.publish(Message((1, 0), b"event: post\n\n"), Event("1", "cats", EventKind.POST, post.key, post))
    assert single.take() is not None and single.take() is None  # a stream of one query reads at once
    assert merged.take(settled_only=True) is None  # the round is not over: another channel may get its half
    channel.settle()
    message = merged.take(settled_only=True)
    assert message is not None and message.event is not None and message.event.post_key == "x:1"


def test_queries_added_to_the_encoded_post_are_the_bytes_of_the_whole_object() -> None:
    post = make_post(1, 'quotes " and \\ and {braces} 🐈', embed_html="<p>x</p>")
    for keys in (["cats"], ["#nyc", '"new york"', "dogs OR birds"]):
        assert with_queries(post_body(post), keys) == orjson.dumps({**post.to_json(), "queries": keys})


class WatchedWaits:
    """The store, telling when the hub waits for events of exactly the given queries."""

    def __init__(self, store: SQLiteStore, keys: set[str]) -> None:
        self.store, self.keys = store, keys
        self.waiting = threading.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def wait_for_events(self, cursors: Mapping[str, str], timeout: float) -> list[Event]:
        if set(cursors) == self.keys:
            self.waiting.set()
        return self.store.wait_for_events(cursors, timeout)


class RecordingHub(LiveHub):
    """The hub, keeping the query keys of each batch of events it publishes as one round."""

    batches: list[list[str]]

    def _dispatch(self, events: list[Event]) -> None:
        if events:
            self.batches.append([event.query_key for event in events])
        super()._dispatch(events)


def test_a_query_subscribed_while_the_hub_waits_gets_its_half_of_a_write_in_the_same_round(
    sqlite_store: SQLiteStore,
) -> None:
    source = WatchedWaits(sqlite_store, {"cats"})
    hub = RecordingHub(source, grace_seconds=60, read_status=lambda: {"state": "connected"}, heartbeat_seconds=60)
    hub.batches = []
    group = object()
    hub.subscribe("cats", "cats", group=group)
    assert source.waiting.wait(5)  # the hub waits for cats' events only...
    hub.subscribe("dogs", "dogs", group=group)
    sqlite_store.save_post(make_post(1), ["cats", "dogs"])  # ...when a write for both ends the wait
    eventually(lambda: hub.batches)
    assert hub.batches[0] == ["cats", "dogs"]  # one round: a stream of both sends the post once, with both keys
    hub.stop()
