"""The store lock that makes one ingester active: the others wait as hot standbys."""

from __future__ import annotations

import logging

from twitterstream.ingest.writer import StoreOutage
from twitterstream.store import Store, StoreUnavailable
from twitterstream.store.state import INGESTER_LOCK

log = logging.getLogger(__name__)


class Leader:
    """Takes, renews and releases the ingester lock for one ``holder``."""

    def __init__(self, store: Store, holder: str, ttl: float, outage: StoreOutage | None = None) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self.outage = outage or StoreOutage()

    def take(self) -> bool | None:
        """True: ours (taken or renewed). False: another ingester holds it. None: the store does not answer."""
        try:
            taken = self.store.acquire_lock(INGESTER_LOCK, self.holder, self.ttl)
        except StoreUnavailable as exc:
            self.outage.failed(exc)
            return None
        self.outage.answered()
        return taken

    def release(self) -> None:
        """Give the lock up now (a standby takes over at once instead of after the TTL)."""
        try:
            self.store.release_lock(INGESTER_LOCK, self.holder)
        except Exception:  # the store may be gone at shutdown; the lock expires by itself
            log.debug("could not release the ingester lock", exc_info=True)
