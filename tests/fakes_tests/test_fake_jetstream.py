"""The fake Jetstream speaks the real protocol: exact bytes, inclusive replay, filters, drops, stalls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from fakes.jetstream import (
    POST_COLLECTION,
    FakeJetstream,
    detect_facets,
    encode_event,
    fake_did,
    make_account_event,
    make_delete_event,
    make_identity_event,
    make_like_event,
    make_post_event,
    new_tid,
)
from twitterstream.sources.bluesky import subscribe_url
from twitterstream.sources.bluesky_payload import decode_event

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "bluesky"
ALICE = "did:plc:alice0000000000000000000"
BOB = "did:plc:bob000000000000000000000"
T0 = 1_783_175_888_000_000  # realistic microseconds (July 2026)


def sample_texts() -> dict[str, str]:
    """Each capture's exact text (the files are one compact line plus a newline)."""
    return {path.stem: path.read_text(encoding="utf-8").rstrip("\n") for path in sorted(SAMPLES.glob("*.json"))}


def recv_all(ws: ClientConnection, count: int, timeout: float = 5.0) -> list[str]:
    messages = []
    for _ in range(count):
        message = ws.recv(timeout=timeout)
        assert isinstance(message, str), "Jetstream sends text frames"
        messages.append(message)
    return messages


def assert_nothing_arrives(ws: ClientConnection, within: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        ws.recv(timeout=within)


def subscribe(fake: FakeJetstream, query: str = "") -> ClientConnection:
    ws = connect(fake.url + (f"?{query}" if query else ""), compression=None, open_timeout=5, close_timeout=1)
    fake.wait_for(lambda: fake.active >= 1)
    return ws


# -- the wire --------------------------------------------------------------------------------------------
def test_real_samples_flow_through_byte_for_byte(fake_jetstream: FakeJetstream) -> None:
    samples = sample_texts()
    assert len(samples) == 7
    with subscribe(fake_jetstream) as ws:
        for text in samples.values():
            fake_jetstream.publish_raw(text)
        assert recv_all(ws, len(samples)) == list(samples.values())


def test_samples_replayed_from_history_are_the_same_bytes_in_time_order() -> None:
    samples = list(sample_texts().values())
    with FakeJetstream(history=samples) as fake, subscribe(fake, "cursor=1") as ws:
        received = recv_all(ws, len(samples))
    assert sorted(received) == sorted(samples)
    times = [json.loads(text)["time_us"] for text in received]
    assert times == sorted(times)


def test_the_url_and_the_requests_seen(fake_jetstream: FakeJetstream) -> None:
    assert fake_jetstream.url.startswith("ws://127.0.0.1:") and fake_jetstream.url.endswith("/subscribe")
    with subscribe(
        fake_jetstream, "wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.like&cursor=42"
    ):
        pass
    request = fake_jetstream.requests[0]
    assert request["path"] == "/subscribe"
    assert request["wantedCollections"] == ["app.bsky.feed.post", "app.bsky.feed.like"]
    assert request["cursor"] == 42
    assert request["status"] == 101
    assert fake_jetstream.connections == 1


def test_go_escaping_of_html_characters_and_line_separators(fake_jetstream: FakeJetstream) -> None:
    event = make_post_event(ALICE, new_tid(), "a <b> & c\u2028d é 😂", time_us=T0, facets=None)
    with subscribe(fake_jetstream) as ws:
        fake_jetstream.publish(event)
        [frame] = recv_all(ws, 1)
    assert "\\u003cb\\u003e \\u0026 c\\u2028d é 😂" in frame
    assert json.loads(frame) == event
    assert frame == encode_event(event)


def test_publish_assigns_increasing_time_us_right_after_did(fake_jetstream: FakeJetstream) -> None:
    first = fake_jetstream.publish(make_delete_event(ALICE, "3aaa"))
    second = fake_jetstream.publish(make_delete_event(ALICE, "3bbb"))
    assert list(first)[:3] == ["did", "time_us", "kind"]
    assert second["time_us"] > first["time_us"] > 1_700_000_000_000_000
    assert fake_jetstream.history == [encode_event(first), encode_event(second)]


# -- cursor ----------------------------------------------------------------------------------------------
def history_at(*times: int) -> list[dict]:
    return [make_delete_event(ALICE, f"3k{i}", time_us=t) for i, t in enumerate(times)]


def test_cursor_replay_is_inclusive_then_live_without_gap_or_duplicate() -> None:
    fake = FakeJetstream(history=history_at(T0 + 100, T0 + 200, T0 + 300))
    with fake, subscribe(fake, f"cursor={T0 + 200}") as ws:
        replayed = [json.loads(m)["time_us"] for m in recv_all(ws, 2)]
        live = fake.publish(make_delete_event(BOB, "3live"))
        [after] = recv_all(ws, 1)
        assert_nothing_arrives(ws, 0.2)
    assert replayed == [T0 + 200, T0 + 300]
    assert json.loads(after) == live


def test_replay_follows_time_order_even_when_published_out_of_order() -> None:
    with (
        FakeJetstream(history=history_at(T0 + 300, T0 + 100, T0 + 200)) as fake,
        subscribe(fake, f"cursor={T0}") as ws,
    ):
        assert [json.loads(m)["time_us"] for m in recv_all(ws, 3)] == [T0 + 100, T0 + 200, T0 + 300]


def test_no_cursor_is_live_only() -> None:
    with FakeJetstream(history=history_at(T0 + 100, T0 + 200)) as fake, subscribe(fake) as ws:
        live = fake.publish(make_delete_event(BOB, "3live"))
        assert [json.loads(m) for m in recv_all(ws, 1)] == [live]
        assert_nothing_arrives(ws, 0.2)


def test_a_cursor_in_the_future_is_live_only() -> None:
    with (
        FakeJetstream(history=history_at(T0 + 100)) as fake,
        subscribe(fake, "cursor=9999999999999999") as ws,
    ):
        live = fake.publish(make_delete_event(BOB, "3live"))
        assert [json.loads(m) for m in recv_all(ws, 1)] == [live]


@pytest.mark.parametrize(
    ("cursor", "body"),
    [("abc", 'subscribe: invalid cursor: "abc"\n'), ("-5", "subscribe: invalid cursor: negative value -5\n")],
)
def test_a_bad_cursor_is_refused_before_the_upgrade(fake_jetstream: FakeJetstream, cursor: str, body: str) -> None:
    with pytest.raises(InvalidStatus) as caught:
        connect(f"{fake_jetstream.url}?cursor={cursor}", open_timeout=5)
    assert caught.value.response.status_code == 400
    assert bytes(caught.value.response.body).decode() == body
    assert fake_jetstream.connections == 0


def test_v2_hosts_add_a_cursor_and_read_small_cursors_as_sequence_numbers() -> None:
    with FakeJetstream(v2_cursor=True) as fake:
        events = [fake.publish(make_delete_event(ALICE, f"3k{i}")) for i in range(3)]
        assert [list(e)[:4] for e in events] == [["did", "time_us", "cursor", "kind"]] * 3
        assert [e["cursor"] for e in events] == [1, 2, 3]
        with subscribe(fake, "cursor=2") as ws:
            assert [json.loads(m)["cursor"] for m in recv_all(ws, 2)] == [2, 3]


def test_v2_instances_number_independently_and_still_read_big_cursors_as_times() -> None:
    with FakeJetstream(v2_cursor=True, first_seq=500) as fake:
        events = [fake.publish(make_delete_event(ALICE, f"3k{i}", time_us=T0 + i)) for i in range(3)]
        assert [e["cursor"] for e in events] == [500, 501, 502]
        with subscribe(fake, f"cursor={T0 + 1}") as ws:  # at or above 10^15: a time
            assert [json.loads(m)["cursor"] for m in recv_all(ws, 2)] == [501, 502]
        with subscribe(fake, "cursor=9999") as ws:  # a sequence number beyond the newest: live only
            live = fake.publish(make_delete_event(ALICE, "3live"))
            assert [json.loads(m)["cursor"] for m in recv_all(ws, 1)] == [live["cursor"]] == [503]


def test_the_clients_own_subscribe_url_is_understood(fake_jetstream: FakeJetstream) -> None:
    fake_jetstream.publish(make_delete_event(ALICE, "3old", time_us=T0))
    with connect(subscribe_url(fake_jetstream.url, T0), compression=None) as ws:
        [message] = recv_all(ws, 1)
    assert json.loads(message)["time_us"] == T0
    assert fake_jetstream.requests[-1]["wantedCollections"] == [POST_COLLECTION]
    assert fake_jetstream.requests[-1]["cursor"] == T0


# -- filters ---------------------------------------------------------------------------------------------
def test_wanted_collections_filters_commits_but_identity_and_account_always_arrive(
    fake_jetstream: FakeJetstream,
) -> None:
    samples = sample_texts()
    post = make_post_event(ALICE, new_tid(), "hello")
    like = make_like_event(BOB, f"at://{ALICE}/{POST_COLLECTION}/3abc")
    with subscribe(fake_jetstream, "wantedCollections=app.bsky.feed.post") as ws:
        fake_jetstream.publish(like)
        fake_jetstream.publish_raw(samples["jetstream_v1_identity"])
        fake_jetstream.publish(post)
        fake_jetstream.publish_raw(samples["jetstream_v1_account"])
        fake_jetstream.publish(make_like_event(BOB, f"at://{ALICE}/{POST_COLLECTION}/3abd"))
        fake_jetstream.publish_raw(samples["jetstream_v1_post_delete"])
        received = recv_all(ws, 4)
        assert_nothing_arrives(ws, 0.2)
    assert [json.loads(m)["kind"] for m in received] == ["identity", "commit", "account", "commit"]
    assert received[0] == samples["jetstream_v1_identity"]
    assert received[3] == samples["jetstream_v1_post_delete"]


def test_a_wildcard_collection_prefix(fake_jetstream: FakeJetstream) -> None:
    commit = {"rev": new_tid(), "operation": "create", "collection": "app.bsky.graph.follow"}
    follow = {
        "did": BOB,
        "kind": "commit",
        "commit": {**commit, "rkey": new_tid(), "record": {}, "cid": "bafy"},
    }
    with subscribe(fake_jetstream, "wantedCollections=app.bsky.feed.*") as ws:
        fake_jetstream.publish(follow)
        like = fake_jetstream.publish(make_like_event(BOB, f"at://{ALICE}/{POST_COLLECTION}/3abc"))
        post = fake_jetstream.publish(make_post_event(ALICE, new_tid(), "hi"))
        assert [json.loads(m) for m in recv_all(ws, 2)] == [like, post]


def test_wanted_dids_applies_to_every_kind(fake_jetstream: FakeJetstream) -> None:
    with subscribe(fake_jetstream, f"wantedDids={ALICE}") as ws:
        fake_jetstream.publish(make_identity_event(BOB, handle="bob.test"))
        fake_jetstream.publish(make_post_event(BOB, new_tid(), "not wanted"))
        mine = fake_jetstream.publish(make_post_event(ALICE, new_tid(), "wanted"))
        assert [json.loads(m) for m in recv_all(ws, 1)] == [mine]


@pytest.mark.parametrize(
    ("query", "compression", "body"),
    [
        ("wantedCollections=notansid", None, "subscribe: invalid options: invalid collection: notansid\n"),
        ("wantedDids=alice", None, "subscribe: invalid options: invalid DID: alice\n"),
        ("compress=true", None, "FakeJetstream does not implement compress=true (zstd)\n"),
        (
            "compress=true",
            "deflate",
            "choose one compression scheme: custom zstd (compress=true / Socket-Encoding: zstd) or "
            "RFC 7692 permessage-deflate, not both\n",
        ),
    ],
)
def test_invalid_options_are_refused_with_400(
    fake_jetstream: FakeJetstream, query: str, compression: str | None, body: str
) -> None:
    with pytest.raises(InvalidStatus) as caught:
        connect(f"{fake_jetstream.url}?{query}", open_timeout=5, compression=compression)
    assert caught.value.response.status_code == 400
    assert bytes(caught.value.response.body).decode() == body
    assert fake_jetstream.requests[-1]["status"] == 400


def test_other_paths_are_not_found(fake_jetstream: FakeJetstream) -> None:
    with pytest.raises(InvalidStatus) as caught:
        connect(fake_jetstream.url.replace("/subscribe", "/firehose"), open_timeout=5)
    assert caught.value.response.status_code == 404


def test_max_message_size_drops_bigger_events(fake_jetstream: FakeJetstream) -> None:
    with subscribe(fake_jetstream, "maxMessageSizeBytes=400") as ws:
        fake_jetstream.publish(make_post_event(ALICE, new_tid(), "x" * 500))
        small = fake_jetstream.publish(make_delete_event(ALICE, "3small"))
        assert [json.loads(m) for m in recv_all(ws, 1)] == [small]


def test_require_hello_waits_for_options_update_which_sets_the_filters(fake_jetstream: FakeJetstream) -> None:
    with subscribe(fake_jetstream, "requireHello=true") as ws:
        fake_jetstream.publish(make_like_event(BOB, f"at://{ALICE}/{POST_COLLECTION}/3abc"))
        assert_nothing_arrives(ws, 0.2)
        update = {"type": "options_update", "payload": {"wantedCollections": [POST_COLLECTION]}}
        ws.send(json.dumps(update))
        # the like queued before the hello was accepted by the filter of that moment (everything)
        assert json.loads(ws.recv(timeout=5))["commit"]["collection"] == "app.bsky.feed.like"
        fake_jetstream.publish(make_like_event(BOB, f"at://{ALICE}/{POST_COLLECTION}/3abd"))
        post = fake_jetstream.publish(make_post_event(ALICE, new_tid(), "after the hello"))
        assert [json.loads(m) for m in recv_all(ws, 1)] == [post]


# -- unkindness ------------------------------------------------------------------------------------------
def test_drop_all_aborts_without_a_close_frame(fake_jetstream: FakeJetstream) -> None:
    with subscribe(fake_jetstream) as ws:
        fake_jetstream.drop_all()
        with pytest.raises(ConnectionClosedError) as caught:
            ws.recv(timeout=5)
    assert caught.value.rcvd is None
    assert fake_jetstream.active == 0


def test_drop_all_with_a_close_frame(fake_jetstream: FakeJetstream) -> None:
    with subscribe(fake_jetstream) as ws:
        fake_jetstream.drop_all(close_frame=True, code=1011, reason="restarting")
        with pytest.raises(ConnectionClosed) as caught:
            ws.recv(timeout=5)
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (1011, "restarting")


def test_drop_every_cuts_each_connection_after_n_events(fake_jetstream: FakeJetstream) -> None:
    fake_jetstream.drop_every(2)
    with subscribe(fake_jetstream) as ws:
        for i in range(3):
            fake_jetstream.publish(make_delete_event(ALICE, f"3k{i}"))
        assert len(recv_all(ws, 2)) == 2
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=5)
    fake_jetstream.wait_for_connections(0)
    assert fake_jetstream.sent == 2


def test_a_silent_host_accepts_and_then_sends_nothing() -> None:
    with FakeJetstream(silent=True, history=history_at(T0)) as fake, subscribe(fake, f"cursor={T0}") as ws:
        fake.publish(make_post_event(ALICE, new_tid(), "never sent"))
        assert_nothing_arrives(ws)
        assert fake.connections == 1 and fake.active == 1 and fake.sent == 0
        fake.silent = False
        live = fake.publish(make_delete_event(ALICE, "3back"))
        assert [json.loads(m) for m in recv_all(ws, 1)] == [live]


def test_refuse_answers_the_handshake_with_an_http_error(fake_jetstream: FakeJetstream) -> None:
    fake_jetstream.refuse(429, "too many connections\n")
    with pytest.raises(InvalidStatus) as caught:
        connect(fake_jetstream.url, open_timeout=5)
    assert caught.value.response.status_code == 429
    fake_jetstream.refuse(None)
    with subscribe(fake_jetstream):
        assert fake_jetstream.connections == 1


def test_stop_cuts_open_connections() -> None:
    fake = FakeJetstream().start()
    with subscribe(fake) as ws:
        fake.stop()
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=5)
    with pytest.raises(OSError):
        connect(fake.url, open_timeout=2)


def test_wait_for_raises_assertion_error_on_timeout(fake_jetstream: FakeJetstream) -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0\.05 s waiting for .*sent == 5.*FakeJetstream\("):
        fake_jetstream.wait_for(lambda: fake_jetstream.sent == 5, timeout=0.05)
    with pytest.raises(AssertionError, match=r"waiting for 5 open stream\(s\); FakeJetstream\(active_streams=0"):
        fake_jetstream.wait_for_connections(5, timeout=0.05)


# -- event builders --------------------------------------------------------------------------------------
def test_detect_facets_reproduces_the_captured_tag_facets_byte_offsets() -> None:
    sample = json.loads(sample_texts()["jetstream_v1_post_create_tag_facets"])
    record = sample["commit"]["record"]
    assert detect_facets(record["text"]) == record["facets"]


def test_facets_use_utf8_byte_offsets_for_tags_mentions_and_links() -> None:
    text = "héllo 😂 @bob.bsky.social #Café! see https://example.com/a?b=1. and example.org/x"
    facets = detect_facets(text)
    encoded = text.encode()
    spans = [encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets]
    assert spans == ["@bob.bsky.social", "#Café", "https://example.com/a?b=1", "example.org/x"]
    features = [f["features"][0] for f in facets]
    assert features[0] == {"$type": "app.bsky.richtext.facet#mention", "did": fake_did("bob.bsky.social")}
    assert features[1] == {"$type": "app.bsky.richtext.facet#tag", "tag": "Café"}
    assert features[3]["uri"] == "https://example.org/x"


def test_made_events_look_like_the_captures_and_decode_with_the_real_decoder() -> None:
    sample = json.loads(sample_texts()["jetstream_v1_post_create_tag_facets"])
    event = make_post_event(ALICE, "3mptbypfywk2v", "hi #there", time_us=T0, langs=("de",), reply=True)
    assert list(event) == list(sample)
    assert list(event["commit"]) == list(sample["commit"])
    assert list(event["commit"]["record"]) == sorted(event["commit"]["record"])
    assert event["commit"]["cid"].startswith("bafyrei") and len(event["commit"]["cid"]) == 59
    decoded = decode_event(event)
    assert decoded is not None and decoded.post is not None
    assert decoded.post.hashtags == ("there",)
    assert decoded.post.is_reply and decoded.post.lang == "de"
    delete = decode_event(make_delete_event(ALICE, "3mptbypfywk2v", time_us=T0))
    assert delete is not None and delete.deleted_key == decoded.post.key
    assert list(make_delete_event(ALICE, "3x", time_us=T0)["commit"]) == list(
        json.loads(sample_texts()["jetstream_v1_post_delete"])["commit"]
    )


def test_identity_and_account_builders_match_the_capture_shapes() -> None:
    identity = json.loads(sample_texts()["jetstream_v1_identity"])
    account = json.loads(sample_texts()["jetstream_v1_account"])
    assert list(make_identity_event(ALICE, time_us=T0)) == list(identity)
    assert list(make_identity_event(ALICE, time_us=T0)["identity"]) == list(identity["identity"])
    assert list(make_account_event(ALICE, time_us=T0)["account"]) == list(account["account"])
    assert make_account_event(ALICE, active=False, status="deactivated")["account"]["status"] == "deactivated"


def test_tids_are_13_sortable_characters() -> None:
    first, second = new_tid(), new_tid()
    assert len(first) == 13 and first < second
