"""The fake Mastodon's REST endpoints: the public and tag timelines, one status, and oEmbed, behind the rate
limit and token checks of unauthenticated API clients.

- ``GET /api/v1/timelines/public`` and ``/api/v1/timelines/tag/:hashtag``: ``limit`` (default 20, at most 40),
  ``max_id``, ``since_id`` (the *newest* ``limit`` statuses above it), ``min_id`` (the *oldest* ``limit``
  statuses above it), ``local``, ``remote``, ``only_media``; newest first; a ``Link`` header
  (``rel="next"``/``rel="prev"``) unless empty; an unknown tag is an empty list. No token is needed unless
  ``timelines_require_auth``.
- ``GET /api/v1/statuses/:id``: the stored status, or ``404 {"error":"Record not found"}``.
- ``GET /api/oembed?url=``: the rich answer with an ``<iframe ... class="mastodon-embed">`` and ``embed.js``
  (``oembed_style="blockquote"``: the 4.3+ blockquote); only this server's own public or unlisted statuses.
- ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (ISO 8601, the end of the window) on every answer,
  ``rate_limit`` requests per ``rate_window`` seconds, then ``429 {"error":"Too many requests"}``; a wrong
  token is always refused (401), a missing one only where a token is required.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .mastodon_fan_out import KnownStatus, normalize_hashtag
from .mastodon_http import send_json, truthy
from .server import FakeHandler, FakeHTTPService

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


class MastodonREST(FakeHTTPService):
    """The REST endpoints of ``FakeMastodon`` (its settings and statuses live there)."""

    access_token: str
    timelines_require_auth: bool
    rate_limit: int
    rate_window: float
    oembed_style: str
    _statuses: dict[str, KnownStatus]
    _window_start: float
    _window_used: int

    @property
    def public_url(self) -> str:
        """The URL the server calls itself in statuses and oEmbed answers."""
        raise NotImplementedError

    def _rate_headers(self) -> tuple[list[tuple[str, str]], bool]:
        """X-RateLimit headers for one more REST request, and whether it is over the limit."""
        with self._cond:
            now = time.time()
            if now - self._window_start >= self.rate_window:
                self._window_start, self._window_used = now, 0
            self._window_used += 1
            remaining = self.rate_limit - self._window_used
            reset = datetime.fromtimestamp(self._window_start + self.rate_window, tz=UTC)
        headers = [
            ("X-RateLimit-Limit", str(self.rate_limit)),
            ("X-RateLimit-Remaining", str(max(remaining, 0))),
            ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%S.") + f"{reset.microsecond // 1000:03d}Z"),
        ]
        return headers, remaining < 0

    def _rest_auth(
        self, h: FakeHandler, headers: dict[str, str], params: dict[str, str], *, required: bool
    ) -> list[tuple[str, str]] | None:
        """Rate limit, then the token (a wrong one is always refused, a missing one when ``required``).

        Returns the headers to add to the answer, or None when the request has been answered (429, 401).
        """
        rate, exceeded = self._rate_headers()
        if exceeded:
            send_json(h, 429, {"error": "Too many requests"}, rate)
            return None
        authorization = headers.get("authorization", "")
        token = params.get("access_token")
        if authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        if (token is not None and token != self.access_token) or (token is None and required):
            send_json(h, 401, {"error": "The access token is invalid"}, rate)
            return None
        return rate

    def _timeline(
        self, h: FakeHandler, path: str, params: dict[str, str], headers: dict[str, str], tag: str | None
    ) -> None:
        extra = self._rest_auth(h, headers, params, required=self.timelines_require_auth)
        if extra is None:
            return
        limit = DEFAULT_LIMIT
        if "limit" in params:
            match = re.match(r"\s*[-+]?\d+", params["limit"])
            limit = min(abs(int(match.group(0))) if match else 0, MAX_LIMIT)
        local = truthy(params.get("local"))
        remote = truthy(params.get("remote"))
        only_media = truthy(params.get("only_media"))
        wanted_tag = normalize_hashtag(tag) if tag is not None else None
        with self._cond:
            candidates = [
                k
                for k in self._statuses.values()
                if k.in_timeline(wanted_tag, local=local, remote=remote, only_media=only_media)
            ]
        max_id, since_id, min_id = (_int_param(params.get(n)) for n in ("max_id", "since_id", "min_id"))
        if max_id is not None:
            candidates = [k for k in candidates if k.id < max_id]
        if min_id is not None:
            page = sorted((k for k in candidates if k.id > min_id), key=lambda k: k.id)[:limit]
            page.reverse()
        else:
            if since_id is not None:
                candidates = [k for k in candidates if k.id > since_id]
            page = sorted(candidates, key=lambda k: k.id, reverse=True)[:limit]
        if page:
            keep = {k: v for k, v in params.items() if k in ("local", "remote", "limit", "only_media")}
            root = f"http://{headers.get('host') or f'127.0.0.1:{self.port}'}{quote(path)}"
            next_url = f"{root}?{urlencode({**keep, 'max_id': page[-1].status['id']})}"
            prev_url = f"{root}?{urlencode({**keep, 'min_id': page[0].status['id']})}"
            extra.append(("Link", f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'))
        send_json(h, 200, [k.status for k in page], extra)

    def _status(self, h: FakeHandler, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
        extra = self._rest_auth(h, headers, params, required=False)
        if extra is not None:
            with self._cond:
                known = self._statuses.get(path.rsplit("/", 1)[1])
            if known is None or known.status.get("visibility") == "direct":
                send_json(h, 404, {"error": "Record not found"}, extra)
            else:
                send_json(h, 200, known.status, extra)

    def _oembed(self, h: FakeHandler, params: dict[str, str], headers: dict[str, str]) -> None:
        extra = self._rest_auth(h, headers, params, required=False)
        if extra is None:
            return
        target = urlsplit(params.get("url", ""))
        own_hosts = {urlsplit(self.public_url).netloc, urlsplit(self.base_url).netloc}
        match = re.fullmatch(r"/@[^/]+/(\d+)|/users/[^/]+/statuses/(\d+)", target.path)
        with self._cond:
            known = self._statuses.get((match.group(1) or match.group(2)) if match else "")
        if (
            target.netloc not in own_hosts
            or known is None
            or not known.local
            or known.status.get("visibility") not in ("public", "unlisted", None)
        ):
            send_json(h, 404, {"error": "Record not found"}, extra)
            return
        status = known.status
        account = status.get("account") or {}
        width = int(params["maxwidth"]) if params.get("maxwidth", "").isdigit() else 400
        height = int(params["maxheight"]) if params.get("maxheight", "").isdigit() else None
        root = self.public_url
        post_url = f"{root}/@{account.get('username')}/{status['id']}"
        if self.oembed_style == "iframe":
            html = (
                f'<iframe src="{post_url}/embed" class="mastodon-embed" style="max-width: 100%; border: 0" '
                f'width="{width}" allowfullscreen="allowfullscreen"></iframe>'
                f'<script src="{root}/embed.js" async="async"></script>'
            )
        else:
            html = (
                f'<blockquote class="mastodon-embed" data-embed-url="{post_url}/embed" '
                f'style="max-width: 540px; min-width: 270px;"> <a href="{post_url}" target="_blank"> '
                f"<div>Post by @{account.get('acct')}@{urlsplit(root).netloc}</div> "
                f'<div>View on Mastodon</div> </a> </blockquote> <script data-allowed-prefixes="{root}/" '
                f'async src="{root}/embed.js"></script>'
            )
        answer: dict[str, Any] = {"type": "rich", "version": "1.0"}
        if self.oembed_style == "iframe":
            answer["title"] = f"New status by {account.get('username')}"
        answer.update(
            {
                "author_name": account.get("display_name") or account.get("username"),
                "author_url": f"{root}/@{account.get('username')}",
                "provider_name": urlsplit(root).netloc,
                "provider_url": f"{root}/",
                "cache_age": 86400,
                "html": html,
                "width": width,
                "height": height,
            }
        )
        send_json(h, 200, answer, extra)


def _int_param(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    match = re.match(r"\s*\d+", value)
    return int(match.group(0)) if match else 0
