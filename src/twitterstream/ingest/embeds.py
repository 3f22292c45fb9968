"""Embeds for what pages show: fetched once per post, a few at a time, through a bounded queue."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from twitterstream.embed import EmbedFetcher
from twitterstream.metrics import IngestCounters
from twitterstream.models import Post

log = logging.getLogger(__name__)

#: Posts waiting for their embed. Past it the oldest request is dropped: pages show the newest posts first,
#: and a post whose embed never comes is shown as a card.
EMBED_QUEUE_SIZE = 1_000
EMBED_WORKERS = 8
#: Posts remembered as already requested (so a post matched again is not fetched twice).
REMEMBERED = 100_000


class EmbedRequests:
    """Fetches the embed of each newly stored post once, newest first when there is more than it can do."""

    def __init__(
        self,
        embedder: EmbedFetcher,
        save_embed: Callable[[str, str], None],
        counters: IngestCounters,
        *,
        workers: int = EMBED_WORKERS,
        queue_size: int = EMBED_QUEUE_SIZE,
    ) -> None:
        self.embedder = embedder
        self.save_embed = save_embed
        self.counters = counters
        self._waiting: deque[Post] = deque(maxlen=queue_size)
        self._requested: OrderedDict[str, None] = OrderedDict()
        self._ready = threading.Condition()
        self._stopped = False
        self._threads = [threading.Thread(target=self._work, name=f"embed-{n}", daemon=True) for n in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._waiting.clear()
            self._ready.notify_all()

    def request(self, post: Post) -> None:
        """Ask for ``post``'s embed (once per post; the oldest waiting request makes room when full)."""
        with self._ready:
            if post.key in self._requested:
                return
            self._requested[post.key] = None
            if len(self._requested) > REMEMBERED:
                self._requested.popitem(last=False)
            if len(self._waiting) == self._waiting.maxlen:
                self.counters.add("embeds_skipped")
            self._waiting.append(post)
            self._ready.notify()

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._waiting and not self._stopped:
                    self._ready.wait()
                if self._stopped:
                    return
                post = self._waiting.pop()  # newest first: what the pages show now
            try:
                self._fetch(post)
            except Exception:
                log.exception("fetching the embed of %s failed", post.key)

    def _fetch(self, post: Post) -> None:
        embed_html = self.embedder.fetch(post)
        if embed_html is None:
            self.counters.add("embeds_failed")
            return
        self.counters.add("embeds_fetched")
        self.save_embed(post.key, embed_html)
