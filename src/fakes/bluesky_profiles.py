"""A fake of Bluesky's public profile API (``app.bsky.actor.getProfile`` on the AppView), on 127.0.0.1.

Known DIDs answer 200 ``{"did", "handle", "displayName", "avatar"}`` (the avatar a ready URL on Bluesky's CDN,
as the real API gives it); unknown ones 400 ``{"error": "InvalidRequest", "message": "Profile not found"}``.
Whatever a test puts in a profile is served as is, hostile handles and broken avatars included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from .server import FakeHandler, FakeHTTPService

PROFILE_PATH = "/xrpc/app.bsky.actor.getProfile"


def avatar_of(did: str) -> str:
    """The avatar URL the fake gives ``did`` unless told otherwise."""
    return f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar{len(did)}@jpeg"


class FakeProfiles(FakeHTTPService):
    """``GET /xrpc/app.bsky.actor.getProfile?actor=DID``; ``asked`` lists the actors asked for, in order.

    ``profiles`` maps a DID to its ``(handle, display name)``; ``default`` is the profile of every other DID
    (None: they are unknown); ``avatars`` gives a DID another avatar than :func:`avatar_of` (any string, a URL
    or not)."""

    def __init__(
        self,
        profiles: Mapping[str, tuple[str, str]] | None = None,
        *,
        default: tuple[str, str] | None = None,
        avatars: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.profiles: dict[str, tuple[str, str]] = dict(profiles or {})
        self.default = default
        self.avatars: dict[str, str] = dict(avatars or {})
        self.asked: list[str] = []

    def _dispatch(self, handler: FakeHandler) -> None:
        parts = urlsplit(handler.path)
        actor = (parse_qs(parts.query).get("actor") or [""])[0]
        with self._cond:
            self.asked.append(actor)
            known = self.profiles.get(actor, self.default) if parts.path == PROFILE_PATH else None
            avatar = self.avatars.get(actor, avatar_of(actor))
            self._changed()
        body = (
            {"did": actor, "handle": known[0], "displayName": known[1], "avatar": avatar}
            if known
            else {"error": "InvalidRequest", "message": "Profile not found"}
        )
        data = json.dumps(body).encode()
        handler.send_response(200 if known else 400)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _state(self) -> dict[str, object]:
        return {"profiles": len(self.profiles), "asked": len(self.asked)}
