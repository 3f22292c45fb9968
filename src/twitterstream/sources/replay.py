"""The replay source: posts from a file of JSON lines, for demos, tests and benchmarks.

Each line is an X API v2 stream message (``{"data": {post}, ...}``), an X API v2 response page
(``"data"`` a list, as twarc2 writes them) or a Jetstream event. The file is followed as it grows (like
``tail -f``), so a growing capture or a FIFO works; reads never block the process (non-blocking file
descriptor, polled). The bundled demo file plays in a loop, with fresh ids and times, so the demo wall
never runs dry.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from twitterstream.config import DEMO_REPLAY_FILE
from twitterstream.errors import DecodeError
from twitterstream.models import Post
from twitterstream.sources.base import Source
from twitterstream.sources.bluesky_payload import decode_event
from twitterstream.sources.decoding import decoder, load_json
from twitterstream.sources.framing import LineSplitter
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.x_payload import decode_stream_message, posts_from_page
from twitterstream.status import SourceState

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2


@decoder("a replay line")
def decode_replay_line(
    line: bytes, invalid: Callable[[InvalidPost], None] | None = None
) -> tuple[list[Post], list[str]]:
    """The posts a replay line carries and the post keys it deletes. Raises :class:`DecodeError` if garbled.

    Posts go through the services' own decoders, so a doctored file is checked like a live stream: a post
    of a page that breaks its service's syntax is left out and handed to ``invalid``; a line that is one
    such post (or delete) raises :class:`InvalidPost`.
    """
    payload = load_json(line, "a replay line")
    if not isinstance(payload, dict):
        raise DecodeError("a replay line must be a JSON object")
    if "kind" in payload and "did" in payload:
        event = decode_event(payload)
        if event is None:
            return [], []
        return ([event.post] if event.post else []), ([event.deleted_key] if event.deleted_key else [])
    if isinstance(payload.get("data"), list):
        return posts_from_page(payload, invalid), []
    if isinstance(payload.get("data"), dict):
        return decode_stream_message(payload).posts, []
    return [], []  # an error message, a meta line, something unknown: skipped


class ReplaySource(Source):
    """Replays ``REPLAY_FILE`` at ``REPLAY_RATE`` posts per second (0: as fast as possible)."""

    name = "replay"
    routes_locally = True

    def run(self, stop: threading.Event) -> None:
        path = self.settings.replay_file
        interval = 1.0 / self.settings.replay_rate if self.settings.replay_rate > 0 else 0.0
        # The demo plays again and again, as new posts; at rate 0 that would be an endless flood: once, then.
        loop = bool(interval) and os.path.abspath(path) == os.path.abspath(DEMO_REPLAY_FILE)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            self.report(SourceState.STOPPED, f"cannot open REPLAY_FILE={path}: {exc.strerror}")
            return
        self.report(SourceState.CONNECTED, f"replaying {os.path.basename(path)}")
        next_at = time.monotonic()
        round_number = 0
        splitter = LineSplitter()
        try:
            while not stop.is_set():
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:  # a FIFO with a writer and nothing to read yet: wait for data
                    select.select([fd], [], [], _POLL_SECONDS)
                    continue
                if not chunk:
                    if loop:  # the demo: play it again, as new posts
                        round_number += 1
                        os.lseek(fd, 0, os.SEEK_SET)
                        continue
                    stop.wait(_POLL_SECONDS)  # end of the file: follow it as it grows (or a FIFO's next writer)
                    continue
                for line in splitter.feed(chunk):
                    if not line.strip():
                        continue
                    try:
                        posts, deleted = decode_replay_line(line, self.drop_invalid)
                    except InvalidPost as exc:
                        self.drop_invalid(exc)
                        continue
                    except DecodeError as exc:
                        log.warning("skipping a replay line that is not a post (%s)", exc)
                        continue
                    for key in deleted:
                        self.sink.delete(key)
                    for post in posts:
                        if interval:
                            next_at = max(next_at + interval, time.monotonic() - 1.0)
                            if stop.wait(max(next_at - time.monotonic(), 0)):
                                return
                        post.extra["via"] = "replay"  # what source:replay matches, whatever its network
                        self.sink.deliver(_fresh(post, round_number) if loop else post)
        finally:
            os.close(fd)

    def close(self) -> None:
        pass


def _fresh(post: Post, round_number: int) -> Post:
    """A demo post replayed as if it were new: unique id per round, posted now."""
    return replace(
        post,
        id=f"{post.id}-{round_number}" if round_number else post.id,
        created_at=datetime.now(UTC),
        embed_html=None,
    )
