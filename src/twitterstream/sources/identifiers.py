"""The documented syntax of each service's identifiers, checked where a payload is decoded.

Ids, DIDs, record keys, handles and URLs end up in SSE frames, URLs and page attributes. One that breaks its
service's syntax (a newline in a post id, a DID with a space) comes from a hostile or broken upstream or a
doctored replay file: the post is dropped (:class:`InvalidPost`) and counted, never stored.
"""

from __future__ import annotations

import re

from twitterstream.errors import DecodeError

#: X ids (posts, users) are snowflakes or older sequence numbers: unsigned 64-bit integers in decimal.
_X_ID = re.compile(r"[0-9]{1,20}")
#: X usernames are letters, digits and ``_``, 4 to 15 of them for new accounts; older ones are shorter,
#: and a few legacy accounts longer, so the length is not held to the letter.
_X_USERNAME = re.compile(r"[A-Za-z0-9_]{1,20}")
#: atproto DID syntax (https://atproto.com/specs/did), at most 2048 characters.
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
_DID_MAX = 2048
#: atproto record key syntax (https://atproto.com/specs/record-key); "." and ".." are not allowed.
_RECORD_KEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
#: atproto handle syntax (https://atproto.com/specs/handle): DNS labels, a TLD starting with a letter.
_HANDLE = re.compile(r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
_HANDLE_MAX = 253
#: Mastodon ids are strings of digits; servers that speak the same API use letters too (GoToSocial's ULIDs,
#: Akkoma's flake ids), so ASCII letters and digits pass.
_MASTODON_ID = re.compile(r"[A-Za-z0-9]{1,64}")
#: ``user`` or ``user@domain`` (Mastodon's USERNAME_RE; a domain may be internationalised, or carry a port).
_MASTODON_ACCT = re.compile(r"[A-Za-z0-9_]+([.-]+[A-Za-z0-9_]+)*(@[\w.-]+(:[0-9]{1,5})?)?")
_ACCT_MAX = 320
#: An absolute http(s) URL without whitespace, control characters, quotes or angle brackets.
_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f\"'<>\\`]+", re.IGNORECASE)
_URL_MAX = 4096


class InvalidPost(DecodeError):
    """A decoded post breaks its service's documented syntax: dropped and counted, never stored.

    ``field`` names what was wrong ("X post id", "DID"...); the message shows the value shortened and
    escaped (never the whole payload).
    """

    def __init__(self, field: str, value: object) -> None:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        super().__init__(f"{field} {shown} breaks the service's syntax")
        self.field = field


def _check(pattern: re.Pattern[str], value: object, field: str, longest: int | None = None) -> str:
    if not isinstance(value, str) or (longest is not None and len(value) > longest) or not pattern.fullmatch(value):
        raise InvalidPost(field, value)
    return value


def x_id(value: object, field: str = "X post id") -> str:
    """An X post or user id (decimal digits; JSON numbers are accepted as X sends some that way)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    return _check(_X_ID, value, field)


def x_username(value: object) -> str:
    """An X username (without ``@``)."""
    return _check(_X_USERNAME, value, "X username")


def did(value: object) -> str:
    """An atproto DID (``did:plc:...``, ``did:web:...``)."""
    return _check(_DID, value, "DID", _DID_MAX)


def record_key(value: object) -> str:
    """An atproto record key (a post's ``rkey``)."""
    if value in (".", ".."):
        raise InvalidPost("record key", value)
    return _check(_RECORD_KEY, value, "record key")


def is_handle(value: object) -> bool:
    """True for a syntactically valid atproto handle (``alice.bsky.social``)."""
    return isinstance(value, str) and len(value) <= _HANDLE_MAX and _HANDLE.fullmatch(value) is not None


def mastodon_id(value: object, field: str = "Mastodon status id") -> str:
    """A Mastodon status or account id."""
    return _check(_MASTODON_ID, value, field)


def mastodon_acct(value: object) -> str:
    """A Mastodon account's ``acct`` (``user`` on its own server, ``user@domain`` otherwise)."""
    return _check(_MASTODON_ACCT, value, "Mastodon acct", _ACCT_MAX)


def http_url(value: object, field: str) -> str:
    """An absolute ``http(s)`` URL."""
    return _check(_HTTP_URL, value, field, _URL_MAX)


def is_http_url(value: object) -> bool:
    """True for an absolute ``http(s)`` URL (see :func:`http_url`)."""
    return isinstance(value, str) and len(value) <= _URL_MAX and _HTTP_URL.fullmatch(value) is not None


#: A path of this app's bundled images (the demo capture's pictures and avatars).
_STATIC_PATH = re.compile(r"/static/[A-Za-z0-9/_.-]+")


def media_url(value: object) -> str | None:
    """A picture's URL if it is ``http(s)`` (or a path under ``/static/``, for the bundled demo); else None.

    A broken media URL costs the post its picture, not the post: callers drop the media (or avatar) only.
    """
    if is_http_url(value) or (isinstance(value, str) and _STATIC_PATH.fullmatch(value) and ".." not in value):
        return str(value)
    return None
