"""The Bluesky source: Jetstream over one WebSocket, matched locally. Free, no account needed.

- One connection to the first of ``BLUESKY_JETSTREAM_URL`` (a comma-separated list: failover order).
- A watchdog: a host that accepts the connection and then stays silent for ``BLUESKY_WATCHDOG_SECONDS``
  is dropped and the next host tried (public hosts have been seen doing exactly that).
- Resume: the ``time_us`` of the last processed event is saved (it survives a restart), and, from a v2 host
  (its events carry ``cursor``, a sequence number of its own), that sequence number and the host. A reconnect
  to that same host asks for ``cursor`` = the sequence number (inclusive, so the last event comes again);
  any other host (a failover, or a v1 host) is asked for ``cursor`` = the time minus a few seconds (at or
  above 10^15 a cursor is a time on v2 hosts too). Either way the overlap is de-duplicated by (did, rkey).
  A sequence resume is checked on its first event: a host that answers from elsewhere in time (another
  instance behind the URL, or a v1 server reading the number as a time) is asked again by time.
- Backoff with jitter between attempts; handles are resolved by DID off the hot path, for stored posts only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import orjson
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from twitterstream.config import Settings
from twitterstream.errors import DecodeError
from twitterstream.models import Post
from twitterstream.sources.base import Sink, Source
from twitterstream.sources.bluesky_payload import POST_COLLECTION, could_be_post, decode_event, event_seq
from twitterstream.sources.decoding import load_json
from twitterstream.sources.dedupe import RecentKeys
from twitterstream.sources.errors import Stalled
from twitterstream.sources.identifiers import InvalidPost, is_handle
from twitterstream.sources.media import avatar_url
from twitterstream.sources.network import network_reason
from twitterstream.sources.reconnect import Backoff, ReconnectPolicy
from twitterstream.status import SourceState

log = logging.getLogger(__name__)

STATE_NAME = "bluesky"
#: How far back a reconnect rewinds the cursor (the overlap is de-duplicated).
REWIND_US = 5_000_000
SAVE_CURSOR_EVERY = 1.0
#: Bluesky has no verified flag in its events and no cashtags.

#: The oldest point a (re)connect resumes from. Jetstream keeps a day or more; replaying all of it after a
#: long outage would take minutes of catching up and fill the pages with stale posts: start live instead.
MAX_RESUME_AGE_US = 3600 * 1_000_000
#: v2 hosts read a ``cursor`` below this as a sequence number, at or above it as a time (microseconds).
SEQ_CURSOR_MAX = 10**15
#: How far from the last processed event the first event of a sequence resume may be (else: not our sequence).
SEQ_CHECK_US = 60_000_000


class SequenceMismatch(Exception):
    """The host did not resume where our sequence number pointed: resume by time instead."""


def resume_cursor(time_us: int | None, now_us: int | None = None) -> int | None:
    """The ``cursor`` to reconnect with: a few seconds before the last processed event.

    None (live only) when nothing was processed yet, or when that was over an hour ago.
    """
    if not time_us:
        return None
    now_us = time.time_ns() // 1000 if now_us is None else now_us
    if now_us - time_us > MAX_RESUME_AGE_US:
        log.warning("the saved Jetstream cursor is %.1f hours old: starting live", (now_us - time_us) / 3.6e9)
        return None
    return max(time_us - REWIND_US, 1)


def resume_from(base: str, time_us: int | None, seq: int | None, seq_host: str | None) -> tuple[int | None, bool]:
    """The ``cursor`` to (re)connect to ``base`` with, and whether it is a sequence number.

    The sequence number when it was given by that very host (and what it points at is under an hour old);
    otherwise a time a few seconds before the last processed event (:func:`resume_cursor`), or None (live).
    """
    by_time = resume_cursor(time_us)
    if seq is not None and seq_host == base and by_time is not None and seq < SEQ_CURSOR_MAX:
        return seq, True
    return by_time, False


def subscribe_url(base: str, cursor: int | None) -> str:
    """The Jetstream subscribe URL asking for posts only, from ``cursor`` (microseconds or, below 10^15 on a
    v2 host, a sequence number) when given.

    A bare host (``wss://jetstream.example``) gets the ``/subscribe`` path. ``compress=true`` is dropped:
    it asks for zstd frames with a custom dictionary, which this client does not decode.
    """
    parts = urlsplit(base)
    if parts.path in ("", "/"):
        parts = parts._replace(path="/subscribe")
    params = [
        (k, v)
        for k, v in parse_qsl(parts.query)
        if k not in ("wantedCollections", "cursor") and not (k == "compress" and v.lower() == "true")
    ]
    params.append(("wantedCollections", POST_COLLECTION))
    if cursor:
        params.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(params)))


class ProfileCache:
    """DID -> (handle, display name, avatar URL), fetched in the background from the public profile API.

    A handle that breaks the atproto handle syntax is not used (None): the post shows its DID instead. An
    avatar URL that is not ``http(s)`` is not used either: the card shows the author's initial.
    """

    def __init__(self, base_url: str, size: int = 20_000) -> None:
        self._profiles: OrderedDict[str, tuple[str | None, str | None, str | None]] = OrderedDict()
        self._pending: set[str] = set()
        self._size = size
        self._lock = threading.Lock()
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bsky-profile")
        self._http = httpx.Client(base_url=base_url, timeout=5.0)

    def fill(self, post: Post) -> None:
        """Set the author's handle, name and avatar if known; otherwise look them up for next time."""
        did = post.author.id
        with self._lock:
            profile = self._profiles.get(did)
            if profile is None and did not in self._pending and not self._closed:
                self._pending.add(did)
                self._pool.submit(self._fetch, did)
        if profile is not None:
            post.author.username, post.author.name, post.author.avatar_url = profile

    def known(self, did: str) -> tuple[str | None, str | None] | None:
        """The cached (handle, display name) of ``did``, or None (never fetches)."""
        with self._lock:
            profile = self._profiles.get(did)
        return profile[:2] if profile is not None else None

    def avatar(self, did: str) -> str | None:
        """The cached avatar URL of ``did`` (None: unknown, or the profile has none)."""
        with self._lock:
            profile = self._profiles.get(did)
        return profile[2] if profile is not None else None

    def _fetch(self, did: str) -> None:
        try:
            response = self._http.get("/xrpc/app.bsky.actor.getProfile", params={"actor": did})
            if response.status_code == 200:
                body = orjson.loads(response.content)
                handle = body["handle"] if is_handle(body["handle"]) else None
                if handle is None:
                    log.warning("profile of %s: handle %.60r breaks the handle syntax; not shown", did, body["handle"])
                with self._lock:
                    self._profiles[did] = (handle, body.get("displayName") or None, avatar_url(body.get("avatar")))
                    if len(self._profiles) > self._size:
                        self._profiles.popitem(last=False)
        except (httpx.HTTPError, orjson.JSONDecodeError, KeyError, RuntimeError) as exc:  # RuntimeError: closed
            log.debug("no profile for %s: %s", did, exc)
        finally:
            with self._lock:
                self._pending.discard(did)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


class BlueskySource(Source):
    """Every public Bluesky post, live, from Jetstream."""

    name = "bluesky"
    routes_locally = True

    def __init__(self, settings: Settings, sink: Sink) -> None:
        super().__init__(settings, sink)
        self.hosts = list(settings.bluesky_jetstream_urls)
        self.profiles = ProfileCache(settings.bluesky_profile_url)
        self._recent = RecentKeys()
        #: ``time_us`` of the newest event processed (saved, so that it survives a restart).
        self.cursor: int | None = None
        #: The v2 sequence number (``cursor`` field) of the newest event processed, and the host it came from.
        self.seq: int | None = None
        self.seq_host: str | None = None
        self._url = ""  # the host of the open connection
        self._check_seq: int | None = None  # the first event must show that this sequence resume worked
        self._connection: ClientConnection | None = None
        self._closed = False

    def prepare(self, post: Post) -> None:
        self.profiles.fill(post)

    def close(self) -> None:
        self._closed = True
        connection = self._connection
        if connection is not None:
            connection.close()

    def run(self, stop: threading.Event) -> None:
        state = self.sink.load_state(STATE_NAME)
        state = state if isinstance(state, dict) else {}
        self.cursor = _int_or_none(state.get("time_us"))
        self.seq, self.seq_host = _int_or_none(state.get("seq")), state.get("host")
        # Start on the host the sequence number belongs to, so that it can be used.
        host = self.hosts.index(self.seq_host) if self.seq is not None and self.seq_host in self.hosts else 0
        policy = ReconnectPolicy(jitter=0.5)
        delay = 0.0
        try:
            while not stop.is_set() and not self._closed:
                if delay and stop.wait(delay):
                    return
                url = self.hosts[host % len(self.hosts)]
                try:
                    self._connect_and_read(url, stop, policy)
                    delay = 0.0
                    continue
                except SequenceMismatch as exc:
                    log.warning("Jetstream %s: %s; resuming by time instead", url, exc)
                    self.seq = self.seq_host = None
                    delay = 0.0
                    continue
                except Stalled as exc:
                    reason, kind = str(exc), Backoff.NETWORK
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    reason = f"{url} refused the connection ({status})"
                    kind = Backoff.RATE_LIMIT if status == 429 else Backoff.NETWORK
                except (OSError, InvalidHandshake, WebSocketException, TimeoutError) as exc:
                    reason, kind = network_reason(exc), Backoff.NETWORK
                if stop.is_set() or self._closed:
                    return
                self.sink.count_reconnect()
                host += 1  # fail over to the next host (wrapping around)
                delay = max(policy.delay(kind), 0.5)
                next_url = self.hosts[host % len(self.hosts)]
                log.warning("Jetstream %s: %s; trying %s in %.1f s", url, reason, next_url, delay)
                self.report(SourceState.RECONNECTING, reason, time.time() + delay)
        finally:
            self._save_cursor()
            self.profiles.close()

    def _connect_and_read(self, base: str, stop: threading.Event, policy: ReconnectPolicy) -> None:
        cursor, by_seq = resume_from(base, self.cursor, self.seq, self.seq_host)
        url = subscribe_url(base, cursor)
        watchdog = self.settings.bluesky_watchdog_seconds
        with connect(url, open_timeout=10, close_timeout=2, compression=None, max_size=2**22) as connection:
            self._connection = connection
            self._url = base
            self._check_seq = cursor if by_seq else None
            self.report(SourceState.CONNECTED, f"Jetstream {urlsplit(base).netloc}")
            last_save = time.monotonic()
            delivered = False
            try:
                while not stop.is_set() and not self._closed:
                    try:
                        raw = connection.recv(timeout=watchdog)
                    except TimeoutError:
                        raise Stalled(f"no message from Jetstream for {watchdog:g} s") from None
                    if not delivered:  # this connection works: the next reconnect may be immediate
                        policy.delivered()
                        delivered = True
                    self.handle_message(raw)
                    if time.monotonic() - last_save >= SAVE_CURSOR_EVERY:
                        last_save = time.monotonic()
                        self._save_cursor()
            finally:
                self._connection = None

    def handle_message(self, raw: str | bytes) -> None:
        """Decode one Jetstream message and hand posts and deletes to the sink.

        Events that are certainly not post commits (likes, follows, identity, account...) are skipped before
        JSON decoding, and do not move the cursor: after a reconnect they are replayed and skipped again.
        """
        if self._check_seq is not None:
            self._verify_seq_resume(raw)
        if not could_be_post(raw):
            return
        try:
            event = decode_event(load_json(raw, "a Jetstream message"))
        except InvalidPost as exc:
            self.drop_invalid(exc)
            return
        except DecodeError as exc:
            log.warning("skipping an undecodable Jetstream message: %s", exc)
            return
        if event is None:
            return
        if event.time_us > (self.cursor or 0):
            self.cursor = event.time_us
        if event.seq is None:  # a v1 host: only times to resume by
            self.seq = self.seq_host = None
        elif self.seq_host != self._url or event.seq > (self.seq or 0):
            self.seq, self.seq_host = event.seq, self._url
        if event.deleted_key is not None:
            self.sink.delete(event.deleted_key)
        elif event.post is not None and self._recent.first_time(event.post.key):
            self.sink.deliver(event.post)

    def _verify_seq_resume(self, raw: str | bytes) -> None:
        """The first event after a sequence resume: it must be a v2 event from about where we stopped.

        A v1 server reads a small cursor as a time long gone (and replays its whole window); another
        instance behind the same URL numbers its events differently (an old point, or its live tip).
        """
        self._check_seq = None
        try:
            event = load_json(raw, "a Jetstream message")
            seq, time_us = event_seq(event), int(event.get("time_us") or 0)
        except (DecodeError, AttributeError, TypeError, ValueError):
            return  # the decoder will say what is wrong with it
        if seq is None:
            raise SequenceMismatch("the host sent an event without a sequence number (a v1 server)")
        if self.cursor and abs(time_us - self.cursor) > SEQ_CHECK_US:
            raise SequenceMismatch(
                f"sequence {self.seq} resumed {abs(time_us - self.cursor) / 1e6:.0f} s away from the last event"
            )

    def _save_cursor(self) -> None:
        if self.cursor:
            self.sink.save_state(STATE_NAME, {"time_us": self.cursor, "seq": self.seq, "host": self.seq_host})


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
