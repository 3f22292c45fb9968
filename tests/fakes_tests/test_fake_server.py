"""What every fake service has from ``fakes.server``: its own port on 127.0.0.1, start and stop, silence that
loses what is published meanwhile, and waits on its streams."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.sync.client import connect

from fakes.bluesky_profiles import FakeProfiles, avatar_of
from fakes.jetstream import FakeJetstream, fake_did
from fakes.mastodon import FakeMastodon
from fakes.server import FakeService
from fakes.x_api import FakeX

ALICE = fake_did("alice.bsky.social")


@pytest.mark.parametrize("make", [FakeX, FakeJetstream, FakeMastodon, FakeProfiles])
def test_a_fake_binds_a_port_of_its_own_on_loopback_and_stop_closes_it(make: Callable[[], FakeService]) -> None:
    fake = make()
    assert fake.port == 0 and not fake.running
    with fake:
        host, port = _address(fake)
        assert host == "127.0.0.1" and port == fake.port != 0
        assert fake.start() is fake  # a second start is nothing
        socket.create_connection((host, port), timeout=5).close()
    fake.stop()  # and so is a second stop
    assert not fake.running
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=5)


def test_two_fakes_of_a_kind_get_two_ports() -> None:
    with FakeX() as one, FakeX() as two:
        assert one.port != two.port


def _address(fake: FakeService) -> tuple[str, int]:
    url = fake.url if isinstance(fake, FakeJetstream) else fake.base_url  # type: ignore[attr-defined]
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


# -- silence: what is published while silent never arrives; after resume() streams deliver again -----------
def check_silence(fake: FakeService, publish: Callable[[str], str], received: Iterator[str]) -> None:
    """``publish(text)`` returns the id of what it published; ``received`` yields the ids a client reads."""
    fake.wait_for_connections(1)
    with fake.silenced():
        assert fake.silent
        publish("cats while silent")
    assert not fake.silent
    after = publish("cats after the silence")
    assert next(received) == after  # the first thing to arrive: what was published while silent is lost
    assert fake.active_streams == 1  # silence closed nothing


def test_the_fake_x_goes_silent_and_resumes() -> None:
    with FakeX(keepalive_interval=0.05) as fake, httpx.Client(timeout=5) as http:
        fake.add_rule("cats")
        headers = {"Authorization": f"Bearer {fake.bearer_token}"}
        with http.stream("GET", f"{fake.base_url}/2/tweets/search/stream", headers=headers) as response:

            def received() -> Iterator[str]:
                for line in response.iter_lines():
                    if line.strip():  # keep-alives are empty lines
                        yield json.loads(line)["data"]["id"]

            check_silence(fake, lambda text: fake.post(text), received())


def test_the_fake_jetstream_goes_silent_and_resumes() -> None:
    with FakeJetstream() as fake, connect(fake.url, open_timeout=5) as ws:

        def received() -> Iterator[str]:
            while True:
                event = json.loads(ws.recv(timeout=5))
                yield f"{event['did']}/{event['commit']['rkey']}"

        check_silence(fake, lambda text: fake.post(ALICE, text), received())


def test_the_fake_mastodon_goes_silent_and_resumes() -> None:
    with FakeMastodon(heartbeat_interval=0.05) as fake, httpx.Client(timeout=5) as http:
        headers = {"Authorization": f"Bearer {fake.access_token}"}
        with http.stream("GET", f"{fake.base_url}/api/v1/streaming/public", headers=headers) as response:

            def received() -> Iterator[str]:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        yield json.loads(line[6:])["id"]

            check_silence(fake, lambda text: fake.post(f"<p>{text}</p>"), received())


def test_a_stream_opened_while_silent_gets_nothing_until_the_fake_resumes() -> None:
    with FakeX(keepalive_interval=0.05) as fake, httpx.Client(timeout=5) as http:
        fake.add_rule("cats")
        fake.silence()
        headers = {"Authorization": f"Bearer {fake.bearer_token}"}
        with http.stream("GET", f"{fake.base_url}/2/tweets/search/stream", headers=headers) as response:
            assert response.status_code == 200
            fake.wait_for_connections(1)
            fake.post("cats nobody hears")
            assert fake.messages_sent == 0 and fake.keepalives_sent == 0
            fake.resume()
            fake.wait_for(lambda: fake.keepalives_sent >= 1, message="keep-alives again")
            heard = fake.post("cats heard")
            lines = (line for line in response.iter_lines() if line.strip())
            assert json.loads(next(lines))["data"]["id"] == heard


# -- waits ------------------------------------------------------------------------------------------------
def test_waits_on_streams_wake_on_the_change_and_fail_with_the_fakes_state() -> None:
    with FakeJetstream() as fake:
        with connect(fake.url, open_timeout=5):
            fake.wait_for_connections(1)
            fake.wait_for_opened(1)
            assert (fake.active_streams, fake.streams_opened) == (1, 1)
        fake.wait_for_connections(0)
        assert fake.streams_opened == 1
        with pytest.raises(AssertionError, match=r"waiting for 2 stream\(s\) opened; FakeJetstream\(active_streams=0"):
            fake.wait_for_opened(2, timeout=0.05)


def test_wait_for_returns_what_the_predicate_found() -> None:
    with FakeX() as fake:
        rule_id = fake.add_rule("cats")
        assert fake.wait_for(lambda: fake.rules.get(rule_id)) == {"id": rule_id, "value": "cats"}


# -- the Bluesky profile API ---------------------------------------------------------------------------------
def test_the_profile_api_answers_known_dids_with_an_avatar_and_others_400() -> None:
    with FakeProfiles({ALICE: ("alice.bsky.social", "Alice")}) as profiles, httpx.Client(timeout=5) as http:
        url = f"{profiles.url}/xrpc/app.bsky.actor.getProfile"
        known = http.get(url, params={"actor": ALICE})
        assert known.status_code == 200
        assert known.json() == {
            "did": ALICE,
            "handle": "alice.bsky.social",
            "displayName": "Alice",
            "avatar": avatar_of(ALICE),
        }
        unknown = http.get(url, params={"actor": "did:plc:nobody"})
        assert unknown.status_code == 400 and unknown.json()["error"] == "InvalidRequest"
        assert profiles.asked == [ALICE, "did:plc:nobody"]
