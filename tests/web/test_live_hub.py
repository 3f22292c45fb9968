"""The live hub: one read per event per process, one formatted message to every open stream."""

from __future__ import annotations

import orjson

from harness import eventually
from helpers import make_post
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.web.channel import CLOSE
from twitterstream.web.live import LiveHub


def make_hub(store: SQLiteStore) -> LiveHub:
    return LiveHub(store, grace_seconds=60, read_status=lambda: {"state": "connected"}, heartbeat_seconds=60)


def next_event(subscription, timeout: float = 5.0) -> str:  # type: ignore[no-untyped-def]
    """The next post/embed/delete message (status messages skipped)."""
    while True:
        message = subscription.get(timeout=timeout)
        assert message is not None, "no message in time"
        text = message[1].decode()
        if not text.startswith("event: status"):
            return text


def test_every_subscriber_of_a_query_gets_each_post_once(sqlite_store: SQLiteStore) -> None:
    hub = make_hub(sqlite_store)
    first, second = hub.subscribe("#nyc", "#NYC"), hub.subscribe("#nyc", "#NYC")
    other = hub.subscribe("cats", "cats")
    sqlite_store.save_post(make_post(1, "hi #nyc"), ["#nyc"])
    for subscription in (first, second):
        text = next_event(subscription)
        assert text.startswith("event: post\nid: 1\ndata: ")
        assert orjson.loads(text.split("data: ", 1)[1])["text"] == "hi #nyc"
    while (message := other.get(timeout=0.2)) is not None:  # at most a status: no post of another query
        assert message[1].startswith(b"event: status")
    hub.stop()


def test_embed_and_delete_events_reach_subscribers(sqlite_store: SQLiteStore) -> None:
    hub = make_hub(sqlite_store)
    subscription = hub.subscribe("q", "q")
    sqlite_store.save_post(make_post(1), ["q"])
    assert next_event(subscription).startswith("event: post\nid: 1\n")
    sqlite_store.set_embed("x:1", '<blockquote class="twitter-tweet">hi</blockquote>')
    embed = next_event(subscription)
    assert embed.startswith("event: embed\n") and '"id":"1"' in embed and "twitter-tweet" in embed
    sqlite_store.delete_post("x:1")
    assert next_event(subscription) == 'event: delete\ndata: {"id":"1"}\n\n'
    hub.stop()


def test_subscribing_watches_the_query_with_its_viewer_count(sqlite_store: SQLiteStore) -> None:
    hub = make_hub(sqlite_store)
    a = hub.subscribe("#nyc", "#NYC")
    b = hub.subscribe("#nyc", "#NYC")
    [watch] = sqlite_store.watched()
    assert (watch.key, watch.text, watch.viewers) == ("#nyc", "#NYC", 2)
    hub.unsubscribe(a)
    assert sqlite_store.watched()[0].viewers == 1
    hub.unsubscribe(b)
    [watch] = sqlite_store.watched()  # still watched for the grace period, by nobody
    assert watch.viewers == 0
    assert hub.open_streams() == 0
    hub.stop()


def test_stop_closes_every_stream(sqlite_store: SQLiteStore) -> None:
    hub = make_hub(sqlite_store)
    subscription = hub.subscribe("q", "q")
    hub.stop()
    while (message := subscription.get(timeout=1)) is not CLOSE:
        assert message is not None


def test_a_reader_too_far_behind_is_cut_off_and_told_to_reconnect(sqlite_store: SQLiteStore) -> None:
    hub = LiveHub(
        sqlite_store, grace_seconds=60, read_status=lambda: {"state": "connected"}, heartbeat_seconds=60, max_pending=3
    )
    subscription = hub.subscribe("q", "q")
    for n in range(1, 6):
        sqlite_store.save_post(make_post(n), ["q"])
    # nobody reads while a status and five posts are published: the channel keeps only the last three
    eventually(lambda: subscription.channel.end >= 6)
    assert subscription.get(timeout=5) is CLOSE
    assert subscription.dropped
    hub.stop()


def test_a_stream_gets_what_is_published_after_it_opened_and_a_stopped_hub_ends_new_streams(
    sqlite_store: SQLiteStore,
) -> None:
    hub = make_hub(sqlite_store)
    early = hub.subscribe("q", "q")
    sqlite_store.save_post(make_post(1), ["q"])
    assert next_event(early).startswith("event: post\nid: 1\n")
    late = hub.subscribe("q", "q")
    sqlite_store.save_post(make_post(2), ["q"])
    assert next_event(late).startswith("event: post\nid: 2\n")  # not post 1: it came before
    assert next_event(early).startswith("event: post\nid: 2\n")
    hub.stop()
    assert early.get(timeout=1) is CLOSE and not early.dropped
    assert hub.subscribe("q", "q").get(timeout=1) is CLOSE


def test_every_open_stream_gets_a_keep_alive_each_heartbeat(sqlite_store: SQLiteStore) -> None:
    hub = LiveHub(sqlite_store, grace_seconds=60, read_status=lambda: {"state": "connected"}, heartbeat_seconds=0.05)
    streams = [hub.subscribe("a", "a"), hub.subscribe("a", "a"), hub.subscribe("b", "b")]
    for stream in streams:
        while (message := stream.get(timeout=5)) is not None and message[1].startswith(b"event: status"):
            pass
        assert message is not None and message[1] == b": keep-alive\n\n"
    hub.stop()
