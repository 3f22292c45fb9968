"""Who gets which status, as Mastodon's ``FanOutOnWriteService`` and streaming server decide.

Only ``public`` statuses that are not reblogs are streamed; replies to *another* account are left out of the
public streams (but reach hashtag streams); ``:local``/``:remote`` streams keep their side; hashtag streams
match on the normalised tag (NFKC, lower case, ASCII folding, letters, digits and ``_`` only). Deletes go where
the status went (every public stream when the status is unknown). The public and tag timelines list what the
public and hashtag streams would have sent, with their ``local``, ``remote`` and ``only_media`` options.
"""

from __future__ import annotations

import queue
import random
import unicodedata
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KnownStatus", "StatusStream", "normalize_hashtag"]


_FOLD_SPECIAL = str.maketrans(
    {
        "Ð": "D",
        "ð": "d",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ĸ": "k",
        "Ŀ": "L",
        "ŀ": "l",
        "Ł": "L",
        "ł": "l",
        "ŉ": "n",
        "Ŋ": "N",
        "ŋ": "n",
        "Ø": "O",
        "ø": "o",
        "\u017f": "s",  # long s
        "Ŧ": "T",
        "ŧ": "t",
    }
)


def _fold_to_ascii(text: str) -> str:
    """Latin-1 and Latin Extended-A letters to their ASCII base letter (Mastodon's ``foldToASCII``)."""
    out = []
    for char in text.translate(_FOLD_SPECIAL):
        if "\u00c0" <= char <= "\u017f":
            base = unicodedata.normalize("NFKD", char)[0]
            out.append(base if base.isascii() else char)
        else:
            out.append(char)
    return "".join(out)


def normalize_hashtag(name: str) -> str:
    """The streaming server's ``normalizeHashtag``: NFKC, lower case, ASCII folding, then only letters,
    digits, ``_``, U+00B7 and U+200C are kept."""
    folded = _fold_to_ascii(unicodedata.normalize("NFKC", name).lower())
    return "".join(c for c in folded if c in "_\u00b7\u200c" or unicodedata.category(c)[0] in ("L", "N"))


@dataclass(slots=True)
class KnownStatus:
    """A status the server knows, with what routing looks at."""

    status: dict[str, Any]
    text: str  # the exact streamed JSON

    @property
    def id(self) -> int:
        return int(self.status["id"]) if str(self.status.get("id", "")).isdigit() else 0

    @property
    def local(self) -> bool:
        return "@" not in str((self.status.get("account") or {}).get("acct") or "")

    @property
    def public(self) -> bool:
        return (self.status.get("visibility") or "public") == "public"

    @property
    def reblog(self) -> bool:
        return self.status.get("reblog") is not None

    @property
    def reply_to_other(self) -> bool:
        if self.status.get("in_reply_to_id") is None:
            return False
        author = str((self.status.get("account") or {}).get("id") or "")
        return str(self.status.get("in_reply_to_account_id") or "") != author

    @property
    def media(self) -> bool:
        return bool(self.status.get("media_attachments"))

    @property
    def tags(self) -> set[str]:
        return {normalize_hashtag(str(t.get("name") or "")) for t in self.status.get("tags") or ()}

    def in_timeline(self, tag: str | None, *, local: bool, remote: bool, only_media: bool) -> bool:
        """Whether the public timeline (``tag`` None, normalised) or a tag's timeline lists this status."""
        return (
            self.public
            and not self.reblog
            and (tag in self.tags if tag is not None else not self.reply_to_other)
            and (self.local or not local)
            and (not self.local or not remote)
            and (self.media or not only_media)
        )


@dataclass(eq=False)
class StatusStream:
    """One open stream: its channel (``public:local``, ``hashtag`` ...), options, and the items its writer
    sends (``("event", (name, data))`` or ``("drop", graceful)``)."""

    channel: str
    only_media: bool
    tag: str
    rng: random.Random
    items: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)
    sent: int = 0

    def wants(self, known: KnownStatus) -> bool:
        """Whether a new or edited status is streamed here."""
        if not known.public or known.reblog:
            return False
        if self.channel.startswith("public"):
            if known.reply_to_other:
                return False
            if self.channel == "public:local" and not known.local:
                return False
            if self.channel == "public:remote" and known.local:
                return False
            return known.media or not self.only_media
        if self.channel.startswith("hashtag"):
            if self.channel == "hashtag:local" and not known.local:
                return False
            return self.tag in known.tags
        return False

    def gets_delete_of(self, known: KnownStatus | None) -> bool:
        """Whether the deletion of ``known`` (None: a status the server never had) is streamed here."""
        if known is None:
            return self.channel.startswith("public")
        reached = known.public and (
            self.channel.startswith("public") or (self.channel.startswith("hashtag") and self.tag in known.tags)
        )
        if self.channel in ("public:local", "hashtag:local") and not known.local:
            reached = False
        if self.channel == "public:remote" and known.local:
            reached = False
        return reached
