"""The fake Mastodon speaks the real protocols: SSE framing, heartbeats, auth errors, routing, timelines."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from fakes.mastodon import (
    FakeMastodon,
    hashtag_link,
    js_dumps,
    make_status,
    normalize_hashtag,
    rails_dumps,
    snowflake_id,
)
from twitterstream.sources.mastodon_payload import post_from_status

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "mastodon"
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8").rstrip("\n")


TREWNH = "status_hashtag_test_mastodon_social.json"  # tag "test", local to mastodon.social
CHRISMO = "status_remote_with_tags_ruby_social.json"  # tags MUSICTUESDAY, piano ..., remote


class RawStream:
    """A raw socket reading an HTTP/1.1 chunked response chunk by chunk, to see the exact framing."""

    def __init__(self, fake: FakeMastodon, target: str, headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
        lines = [f"GET {target} HTTP/1.1", "Host: mastodon.test"]
        lines += [f"{k}: {v}" for k, v in (AUTH if headers is None else headers).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        self.status_line = self.file.readline().decode().rstrip("\r\n")
        self.headers: dict[str, str] = {}
        while (line := self.file.readline().decode().rstrip("\r\n")) != "":
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    @property
    def status(self) -> int:
        return int(self.status_line.split()[1])

    def body(self) -> bytes:
        return self.file.read(int(self.headers["content-length"]))

    def chunk(self) -> bytes:
        size = int(self.file.readline().strip(), 16)
        data = self.file.read(size)
        assert self.file.read(2) == b"\r\n", "each chunk ends with CRLF"
        return data

    def next_non_heartbeat(self) -> bytes:
        while (data := self.chunk()) in (b":)\n", b":thump\n"):
            pass
        return data

    def event(self) -> tuple[bytes, list[bytes]]:
        """The ``event:`` chunk, then the data chunks up to and including the blank line."""
        name = self.next_non_heartbeat()
        pieces = [self.chunk()]
        while not b"".join(pieces).endswith(b"\n\n"):
            pieces.append(self.chunk())
        return name, pieces

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon(heartbeat_interval=0.05, public_url="https://mastodon.social") as fake:
        yield fake


@pytest.fixture
def client(mastodon: FakeMastodon) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mastodon.base_url, headers=AUTH, timeout=5) as http:
        yield http


def open_raw(fake: FakeMastodon, target: str, **kwargs: dict[str, str]) -> RawStream:
    before = fake.streams_opened
    raw = RawStream(fake, target, **kwargs)
    fake.wait_for(lambda: fake.streams_opened > before)
    return raw


# -- SSE framing -----------------------------------------------------------------------------------------
def test_stream_framing_is_byte_for_byte_what_mastodon_sends(mastodon: FakeMastodon) -> None:
    mastodon.split_chunks = 0.0
    raw = open_raw(mastodon, "/api/v1/streaming/public")
    try:
        assert raw.status_line == "HTTP/1.1 200 OK"
        assert raw.headers["content-type"] == "text/event-stream"
        assert raw.headers["cache-control"] == "no-store"
        assert raw.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in raw.headers
        assert raw.chunk() == b":)\n"
        assert raw.chunk() == b":thump\n"
        text = sample_text(TREWNH)
        mastodon.publish_raw(text)
        name, pieces = raw.event()
        assert name == b"event: update\n"
        assert pieces == [f"data: {text}\n\n".encode()]
        mastodon.delete("108914430312582020")
        assert raw.event() == (b"event: delete\n", [b"data: 108914430312582020\n\n"])
    finally:
        raw.close()


def test_the_documented_example_event_is_what_goes_on_the_wire(mastodon: FakeMastodon) -> None:
    documented = (SAMPLES / "sse_hashtag_update_event.txt").read_text(encoding="utf-8")
    documented = documented.removeprefix("```text\n").rstrip("\n").removesuffix("```").rstrip("\n")
    mastodon.split_chunks = 0.0
    raw = open_raw(mastodon, "/api/v1/streaming/hashtag?tag=test")
    try:
        mastodon.publish(json.loads(sample_text(TREWNH)))
        name, pieces = raw.event()
        assert (name + b"".join(pieces)).decode() == documented + "\n\n"
    finally:
        raw.close()


def test_heartbeats_follow_the_interval(mastodon: FakeMastodon) -> None:
    raw = open_raw(mastodon, "/api/v1/streaming/public")
    try:
        assert raw.chunk() == b":)\n"
        assert [raw.chunk() for _ in range(3)] == [b":thump\n"] * 3
    finally:
        raw.close()


def test_data_lines_are_split_across_chunks_at_awkward_places() -> None:
    text = sample_text(TREWNH)
    with FakeMastodon(heartbeat_interval=60, split_chunks=1.0, seed=3) as fake:
        raw = open_raw(fake, "/api/v1/streaming/public")
        try:
            assert raw.chunk() == b":)\n"
            splits = []
            for _ in range(10):
                fake.publish_raw(text)
                name, pieces = raw.event()
                assert name == b"event: update\n"
                assert b"".join(pieces) == f"data: {text}\n\n".encode()
                splits.append(pieces)
        finally:
            raw.close()
    assert all(len(pieces) >= 2 for pieces in splits)
    assert any(pieces[-1] == b"\n" for pieces in splits), "sometimes the blank line arrives on its own"


def test_splits_can_fall_inside_a_utf8_character() -> None:
    with FakeMastodon(heartbeat_interval=60, split_chunks=1.0, seed=1) as fake:
        status = fake.make_status("<p>" + "é😂ⴳ" * 200 + "</p>")
        raw = open_raw(fake, "/api/v1/streaming/public")
        try:
            splits = []
            for _ in range(5):
                fake.publish(status)
                splits.append(raw.event()[1])
        finally:
            raw.close()
    assert all(b"".join(pieces) == f"data: {js_dumps(status)}\n\n".encode() for pieces in splits)
    continuation = [piece for pieces in splits for piece in pieces[1:] if (piece[0] & 0xC0) == 0x80]
    assert continuation, "some chunk starts in the middle of a character"


def test_httpx_sse_reads_split_events_intact(mastodon: FakeMastodon, client: httpx.Client) -> None:
    mastodon.split_chunks = 1.0
    statuses = [mastodon.make_status(f"<p>n{i} é😂\u2028 &amp; <b>x</b></p>", tags=["a"]) for i in range(20)]
    with connect_sse(client, "GET", "/api/v1/streaming/public") as source:
        mastodon.wait_for_connections(1)
        for status in statuses:
            mastodon.publish(status)
        mastodon.delete(statuses[0]["id"])
        events = []
        for sse in source.iter_sse():
            events.append((sse.event, sse.data))
            if len(events) == 21:
                break
    assert [json.loads(data) for _, data in events[:20]] == statuses
    assert events[20] == ("delete", statuses[0]["id"])


def test_the_generic_sse_style_is_spec_framing_that_decodes_to_the_same_events() -> None:
    status = make_status("108914430312582020", "<p>two</p>\n<p>paragraphs é😂</p>")
    with FakeMastodon(heartbeat_interval=0.05, split_chunks=0.0, sse_style="generic") as fake:
        raw = open_raw(fake, "/api/v1/streaming/public")
        try:
            assert raw.chunk() == b":)\r\n"
            assert raw.chunk() == b": ping\r\n"
            fake.publish(status)
            fake.delete(status["id"])
            wire = b""
            while wire.count(b"\r\n\r\n") < 2:
                if (data := raw.chunk()) != b": ping\r\n":
                    wire += data
        finally:
            raw.close()
    update, delete, _ = wire.decode().split("\r\n\r\n")
    lines = update.split("\r\n")
    assert lines[:3] == ["id: 1", "event:update", "data:{"]
    assert (
        len(lines) > 10
        and "\n" not in update.replace("\r\n", "")
        and all(line.startswith("data:") for line in lines[2:])
    )
    assert json.loads("\n".join(line[5:] for line in lines[2:])) == status  # data lines join with "\n"
    assert delete == "id: 2\r\nevent:delete\r\ndata:108914430312582020"


# -- authentication and errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "Missing access token"),
        ({"Authorization": "Bearer wrong"}, 401, "Invalid access token"),
        ({"Authorization": f"bearer {TOKEN}"}, 401, "Invalid access token"),
    ],
)
def test_streaming_needs_the_user_token(
    mastodon: FakeMastodon, headers: dict[str, str], status: int, error: str
) -> None:
    raw = RawStream(mastodon, "/api/v1/streaming/public", headers=headers)
    try:
        assert raw.status == status
        assert raw.headers["content-type"] == "application/json"
        assert raw.body() == json.dumps({"error": error}, separators=(",", ":")).encode()
    finally:
        raw.close()
    assert mastodon.streams_opened == 0


def test_the_token_may_also_come_as_a_query_parameter(mastodon: FakeMastodon) -> None:
    raw = open_raw(mastodon, f"/api/v1/streaming/public?access_token={TOKEN}", headers={})
    raw.close()


@pytest.mark.parametrize(
    ("target", "status", "error"),
    [
        ("/api/v1/streaming/hashtag", 400, "Missing tag name parameter"),
        ("/api/v1/streaming/nope", 400, "Unknown channel requested"),
    ],
)
def test_stream_request_errors(client: httpx.Client, target: str, status: int, error: str) -> None:
    response = client.get(target)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_an_unknown_channel_is_refused_before_the_token_is_looked_at(client: httpx.Client) -> None:
    response = client.get("/api/v1/streaming/nope", headers={"Authorization": ""})
    assert response.status_code == 400


def test_health(client: httpx.Client) -> None:
    response = client.get("/api/v1/streaming/health", headers={"Authorization": ""})
    assert (response.status_code, response.text) == (200, "OK")


def test_fail_requests_answers_the_next_requests_with_an_error(mastodon: FakeMastodon, client: httpx.Client) -> None:
    mastodon.fail_requests(503, count=2, path_prefix="/api/v1/timelines")
    assert client.get("/api/v1/timelines/public").status_code == 503
    assert client.get("/api/v1/streaming/health").status_code == 200
    assert client.get("/api/v1/timelines/public").json() == {"error": "Service unavailable"}
    assert client.get("/api/v1/timelines/public").status_code == 200


# -- who gets what ---------------------------------------------------------------------------------------
def read_events(client: httpx.Client, fake: FakeMastodon, target: str, publish: list[dict], marker: dict) -> list[dict]:
    """Publish ``publish`` then ``marker`` (which the stream must get) and return what came before it."""
    with connect_sse(client, "GET", target) as source:
        fake.wait_for_connections(1)
        for status in [*publish, marker]:
            fake.publish(status)
        received = []
        for sse in source.iter_sse():
            status = json.loads(sse.data)
            if status["id"] == marker["id"]:
                break
            received.append(status)
    fake.wait_for_connections(0)
    return received


def test_hashtag_stream_only_gets_statuses_with_that_tag_case_insensitively(
    mastodon: FakeMastodon, client: httpx.Client
) -> None:
    tagged = json.loads(sample_text(CHRISMO))  # tagged "MUSICTUESDAY"
    untagged = mastodon.make_status("<p>musictuesday without the hash</p>")
    other = mastodon.make_status("<p>#jazz</p>", tags=["jazzy"])
    publish = [untagged, tagged, other]
    target = "/api/v1/streaming/hashtag?tag=MusicTuesday"
    with connect_sse(client, "GET", target) as source:
        mastodon.wait_for_connections(1)
        for status in publish:
            mastodon.publish(status)
        mastodon.publish(mastodon.make_status("<p>end</p>", tags=["musictuesday"]))
        received = []
        for sse in source.iter_sse():
            received.append(sse.data)
            if len(received) == 2:
                break
    assert received[0] == sample_text(CHRISMO)
    assert json.loads(received[1])["content"] == "<p>end</p>"


def test_hashtag_names_are_normalised_like_the_streaming_server() -> None:
    assert normalize_hashtag("Qualitätskatzen") == "qualitatskatzen"
    assert normalize_hashtag("MUSIC_Tuesday!") == "music_tuesday"
    assert normalize_hashtag("\uff46\uff55\uff4c\uff4cwidth")  # fullwidth letters == "fullwidth"


def test_public_stream_leaves_out_reblogs_replies_to_others_and_non_public(
    mastodon: FakeMastodon, client: httpx.Client
) -> None:
    plain = mastodon.make_status("<p>plain</p>")
    original = mastodon.make_status("<p>original</p>", acct="bob")
    reblog = mastodon.make_status("", reblog=original)
    reply_to_other = mastodon.make_status("<p>reply</p>", in_reply_to_id=original["id"])
    self_reply = mastodon.make_status(
        "<p>thread</p>", in_reply_to_id=plain["id"], in_reply_to_account_id=plain["account"]["id"]
    )
    unlisted = mastodon.make_status("<p>quiet</p>", visibility="unlisted")
    publish = [plain, reblog, reply_to_other, self_reply, unlisted]
    marker = mastodon.make_status("<p>marker</p>")
    received = read_events(client, mastodon, "/api/v1/streaming/public", publish, marker)
    assert [s["id"] for s in received] == [plain["id"], self_reply["id"]]


def test_hashtag_stream_gets_replies_to_others(mastodon: FakeMastodon, client: httpx.Client) -> None:
    reply = mastodon.make_status("<p>#cats reply</p>", tags=["cats"], in_reply_to_id="1")
    marker = mastodon.make_status("<p>#Cats</p>", tags=["Cats"])
    received = read_events(client, mastodon, "/api/v1/streaming/hashtag?tag=cats", [reply], marker)
    assert [s["id"] for s in received] == [reply["id"]]


def test_local_and_remote_public_streams(mastodon: FakeMastodon, client: httpx.Client) -> None:
    local = mastodon.make_status("<p>here</p>")
    remote = mastodon.make_status("<p>there</p>", acct="bob@example.org")
    local_marker = mastodon.make_status("<p>local marker</p>")
    remote_marker = mastodon.make_status("<p>remote marker</p>", acct="carol@example.net")
    on_local = read_events(client, mastodon, "/api/v1/streaming/public/local", [local, remote], local_marker)
    on_remote = read_events(client, mastodon, "/api/v1/streaming/public/remote", [local, remote], remote_marker)
    assert [s["id"] for s in on_local] == [local["id"]]
    assert [s["id"] for s in on_remote] == [remote["id"]]


# -- timelines -------------------------------------------------------------------------------------------
@pytest.fixture
def five(mastodon: FakeMastodon) -> list[dict]:
    statuses = [mastodon.make_status(f"<p>#cats {i}</p>", tags=["Cats"]) for i in range(5)]
    for status in statuses:
        mastodon.publish(status)
    return statuses


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200
    return [s["id"] for s in response.json()]


def test_timelines_are_newest_first_with_the_default_limit_of_20(mastodon: FakeMastodon, client: httpx.Client) -> None:
    statuses = [mastodon.make_status(f"<p>{i}</p>") for i in range(45)]
    for status in statuses:
        mastodon.publish(status)
    newest = [s["id"] for s in reversed(statuses)]
    assert ids(client.get("/api/v1/timelines/public")) == newest[:20]
    assert ids(client.get("/api/v1/timelines/public", params={"limit": 100})) == newest[:40]


def test_since_id_gives_the_newest_page_and_min_id_the_oldest(five: list[dict], client: httpx.Client) -> None:
    first = five[0]["id"]
    assert ids(client.get("/api/v1/timelines/tag/cats", params={"since_id": first, "limit": 2})) == [
        five[4]["id"],
        five[3]["id"],
    ]
    assert ids(client.get("/api/v1/timelines/tag/cats", params={"min_id": first, "limit": 2})) == [
        five[2]["id"],
        five[1]["id"],
    ]
    assert ids(client.get("/api/v1/timelines/tag/CATS", params={"max_id": five[2]["id"]})) == [
        five[1]["id"],
        five[0]["id"],
    ]


def test_link_header_pages_and_an_unknown_tag_is_an_empty_list(five: list[dict], client: httpx.Client) -> None:
    response = client.get("/api/v1/timelines/tag/cats", params={"limit": 2})
    links = httpx.Response(200, headers={"link": response.headers["link"]}).links
    assert ids(client.get(links["next"]["url"])) == [five[2]["id"], five[1]["id"]]
    assert ids(client.get(links["prev"]["url"])) == []
    empty = client.get("/api/v1/timelines/tag/dogs")
    assert (empty.json(), "link" in empty.headers) == ([], False)


def test_rest_answers_are_rails_json(five: list[dict], client: httpx.Client) -> None:
    response = client.get("/api/v1/timelines/tag/cats", params={"limit": 1})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert "\\u003cp\\u003e#cats 4\\u003c/p\\u003e" in response.text
    assert response.json()[0] == five[4]
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers)


def test_timelines_may_require_a_token_and_a_wrong_token_is_refused() -> None:
    with FakeMastodon(timelines_require_auth=True) as fake, httpx.Client(base_url=fake.base_url) as http:
        assert http.get("/api/v1/timelines/tag/cats").json() == {"error": "The access token is invalid"}
        assert http.get("/api/v1/timelines/tag/cats", headers=AUTH).status_code == 200
    with FakeMastodon() as fake, httpx.Client(base_url=fake.base_url) as http:
        assert http.get("/api/v1/timelines/public").status_code == 200
        assert http.get("/api/v1/timelines/public", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_rate_limit(client: httpx.Client, mastodon: FakeMastodon) -> None:
    mastodon.rate_limit = 2
    assert [client.get("/api/v1/timelines/public").status_code for _ in range(3)] == [200, 200, 429]


def test_tag_timelines_need_no_token_and_count_down_to_a_429_until_the_window_resets() -> None:
    before = datetime.now(UTC)
    with FakeMastodon(rate_limit=2, rate_window=60) as fake, httpx.Client(base_url=fake.base_url) as http:
        answers = [http.get("/api/v1/timelines/tag/cats") for _ in range(3)]
        after = datetime.now(UTC)
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
        assert {a.headers["x-ratelimit-limit"] for a in answers} == {"2"}
        reset = datetime.fromisoformat(answers[0].headers["x-ratelimit-reset"].replace("Z", "+00:00"))
        # the window's end, 60 s after it began (in milliseconds: the header has no finer figure)
        assert before + timedelta(seconds=59.999) <= reset <= after + timedelta(seconds=60)
        assert answers[2].json() == {"error": "Too many requests"}
        fake.reset_rate_limit()
        assert http.get("/api/v1/timelines/tag/cats").status_code == 200


def test_a_federated_copy_has_a_local_id_and_the_same_uri() -> None:
    with FakeMastodon() as one, FakeMastodon() as two, httpx.Client() as http:
        status = one.make_status("<p>#cats</p>", acct="bob@elsewhere.example", tags=["cats"])
        one.publish(status)
        copy = two.federate(status)
        [on_two] = http.get(f"{two.base_url}/api/v1/timelines/tag/cats").json()
        assert on_two["id"] == copy["id"] != status["id"]
        assert (on_two["uri"], on_two["url"]) == (status["uri"], status["url"])


def test_requests_are_recorded(mastodon: FakeMastodon, client: httpx.Client) -> None:
    client.get("/api/v1/timelines/tag/cats", params={"limit": "40", "since_id": "7"})
    method, path, params, headers = mastodon.requests[-1]
    assert (method, path, params) == ("GET", "/api/v1/timelines/tag/cats", {"limit": "40", "since_id": "7"})
    assert headers["authorization"] == f"Bearer {TOKEN}"


# -- oEmbed ----------------------------------------------------------------------------------------------
def test_oembed_answers_an_iframe_for_its_own_statuses(mastodon: FakeMastodon, client: httpx.Client) -> None:
    mastodon.publish_raw(sample_text(TREWNH))
    response = client.get("/api/oembed", params={"url": "https://mastodon.social/@trwnh/108914430312582020"})
    answer = response.json()
    assert answer["type"] == "rich" and answer["provider_name"] == "mastodon.social"
    assert answer["author_name"] == "infinite love ⴳ" and answer["width"] == 400 and answer["height"] is None
    assert answer["html"] == (
        '<iframe src="https://mastodon.social/@trwnh/108914430312582020/embed" class="mastodon-embed" '
        'style="max-width: 100%; border: 0" width="400" allowfullscreen="allowfullscreen"></iframe>'
        '<script src="https://mastodon.social/embed.js" async="async"></script>'
    )
    assert "\\u003ciframe" in response.text


def test_oembed_404s_unknown_and_remote_statuses(mastodon: FakeMastodon, client: httpx.Client) -> None:
    mastodon.publish_raw(sample_text(CHRISMO))  # a ruby.social status known to mastodon.social
    for url in ("https://ruby.social/@chrismo/109348684454557541", "https://mastodon.social/@x/1", ""):
        response = client.get("/api/oembed", params={"url": url})
        assert (response.status_code, response.json()) == (404, {"error": "Record not found"})


def test_oembed_blockquote_style_of_mastodon_4_3() -> None:
    with FakeMastodon(oembed_style="blockquote") as fake, httpx.Client(base_url=fake.base_url) as http:
        status = fake.make_status("<p>hi</p>")
        fake.publish(status)
        html = http.get("/api/oembed", params={"url": status["url"]}).json()["html"]
    assert html.startswith(f'<blockquote class="mastodon-embed" data-embed-url="{status["url"]}/embed"')
    assert "<iframe" not in html


# -- unkindness ------------------------------------------------------------------------------------------
def test_drop_all_cuts_the_body_without_the_last_chunk(mastodon: FakeMastodon, client: httpx.Client) -> None:
    with connect_sse(client, "GET", "/api/v1/streaming/public") as source:
        mastodon.wait_for_connections(1)
        mastodon.drop_all()
        with pytest.raises(httpx.RemoteProtocolError):
            list(source.iter_sse())
    assert mastodon.active_streams == 0


def test_graceful_drop_ends_the_stream_cleanly(mastodon: FakeMastodon, client: httpx.Client) -> None:
    with connect_sse(client, "GET", "/api/v1/streaming/public") as source:
        mastodon.wait_for_connections(1)
        status = mastodon.make_status("<p>last</p>")
        mastodon.publish(status)
        mastodon.wait_for(lambda: mastodon.events_sent == 1)
        mastodon.drop_all(graceful=True)
        assert [json.loads(sse.data)["id"] for sse in source.iter_sse()] == [status["id"]]


def test_drop_every_cuts_each_stream_after_n_events(mastodon: FakeMastodon, client: httpx.Client) -> None:
    mastodon.drop_every(2)
    received = []
    with connect_sse(client, "GET", "/api/v1/streaming/public") as source:
        mastodon.wait_for_connections(1)
        for i in range(3):
            mastodon.publish(mastodon.make_status(f"<p>{i}</p>"))
        with pytest.raises(httpx.RemoteProtocolError):
            received.extend(sse.data for sse in source.iter_sse())
    assert len(received) == 2


def test_a_silent_server_sends_headers_and_then_nothing() -> None:
    with FakeMastodon(silent=True, heartbeat_interval=0.05) as mastodon:
        raw = open_raw(mastodon, "/api/v1/streaming/public")
        try:
            assert raw.status == 200
            mastodon.publish(mastodon.make_status("<p>never</p>"))
            raw.sock.settimeout(0.3)
            with pytest.raises(TimeoutError):
                raw.chunk()  # not even the ":)" or a heartbeat
            assert mastodon.events_sent == 0 and mastodon.active_streams == 1
        finally:
            raw.close()
        mastodon.wait_for_connections(0)


def test_a_client_hanging_up_is_noticed(mastodon: FakeMastodon) -> None:
    raw = open_raw(mastodon, "/api/v1/streaming/public")
    assert mastodon.active_streams == 1
    raw.close()
    mastodon.wait_for_connections(0)


def test_stop_ends_open_streams(client: httpx.Client) -> None:
    fake = FakeMastodon().start()
    with connect_sse(client, "GET", f"{fake.base_url}/api/v1/streaming/public") as source:
        fake.wait_for_connections(1)
        fake.stop()
        with pytest.raises(httpx.RemoteProtocolError):
            list(source.iter_sse())


# -- statuses --------------------------------------------------------------------------------------------
def test_the_real_sample_statuses_are_published_unchanged(mastodon: FakeMastodon) -> None:
    mastodon.split_chunks = 0.0
    raw = open_raw(mastodon, "/api/v1/streaming/public")
    try:
        for name in (TREWNH, CHRISMO):
            text = sample_text(name)
            assert js_dumps(json.loads(text)) == text  # JSON.stringify of the parsed status: the same bytes
            mastodon.publish(json.loads(text))
            assert raw.event()[1] == [f"data: {text}\n\n".encode()]
    finally:
        raw.close()


def test_make_status_has_the_shape_of_the_real_entity() -> None:
    sample = json.loads(sample_text(TREWNH))
    status = make_status(snowflake_id(), "<p>hi</p>", tags=["Cats"], media=["image"], mentions=["bob@ex.org"])
    assert list(status) == list(sample)
    assert list(status["account"]) == list(sample["account"])
    assert status["url"] == f"https://mastodon.example/@alice/{status['id']}"
    remote = make_status("1", "<p>x</p>", acct="bob@example.org", base_url="https://mastodon.social")
    assert remote["url"] == "https://example.org/@bob/1" and "application" not in remote
    post = post_from_status(status)
    assert post.hashtags == ("Cats",) and post.media_types == ("photo",) and post.mentions[0] == "bob@ex.org"


def test_snowflake_ids_increase_and_carry_the_time() -> None:
    first, second = snowflake_id(), snowflake_id()
    assert int(second) > int(first)
    assert make_status(first, "")["created_at"][:10] == datetime.now(UTC).strftime("%Y-%m-%d")


def test_json_encodings() -> None:
    value = {"a": "<&>\u2028é", "f": 1.0, "g": 0.5}
    assert js_dumps(value) == '{"a":"<&>\u2028é","f":1,"g":0.5}'
    assert rails_dumps(value) == '{"a":"\\u003c\\u0026\\u003e\\u2028é","f":1.0,"g":0.5}'
    assert hashtag_link("cats", "https://m.example").startswith('<a href="https://m.example/tags/cats"')
