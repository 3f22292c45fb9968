"""The blocklist: words and phrases, authors and domains an operator never wants on a page.

Checking a post costs the same however long the list is: the post's text is cut into words once and each
word (and each run of words as long as the longest phrase) is looked up in a set; each link's host and its
parent domains are looked up in another set.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twitterstream.models import Post

FIELDS = ("words", "authors", "domains")
#: Longest entry, and most entries in all, that a blocklist accepts.
MAX_ENTRY = 200
MAX_ENTRIES = 10_000

_WORD = re.compile(r"\w+")
_HOST = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


class BlocklistError(ValueError):
    """A blocklist body that cannot be used; the message says which entry and why."""


def _fold(text: str) -> str:
    """Text as the blocklist compares it: compatibility forms unified, case folded (``GARBAGE`` = ``garbage``)."""
    return unicodedata.normalize("NFKC", text).casefold()


def words_of(text: str) -> tuple[str, ...]:
    """The words of a text, folded: what "on word boundaries" means here (punctuation separates words)."""
    return tuple(_WORD.findall(_fold(text)))


def author_entry(entry: str) -> str:
    """An author as compared: folded, without a leading ``@``."""
    return _fold(entry.strip()).removeprefix("@")


def domain_entry(entry: str) -> str:
    """A domain as compared: the host of a URL or a bare name, lower case, IDNA-encoded, without ``*.``."""
    text = entry.strip()
    host = urlsplit(text).hostname if "//" in text else text.split("/", 1)[0]
    host = (host or "").strip(".").removeprefix("*.").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise BlocklistError(f"{entry!r} is not a domain name") from None
    if not _HOST.match(host):
        raise BlocklistError(f"{entry!r} is not a domain name (like example.com)")
    return host


def host_of(url: str) -> str | None:
    """A link's host, lower case (None when it has none)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def _entries(entries: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(e.strip() for e in entries if e.strip()))


def _suffixes(host: str) -> list[str]:
    """``a.b.c`` -> ``a.b.c``, ``b.c``, ``c``: a domain on the list blocks its subdomains."""
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


@dataclass(frozen=True)
class Blocklist:
    """What an operator blocked, as given (``to_json``) and ready to check posts (``blocks``)."""

    words: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    _phrases: frozenset[tuple[str, ...]] = field(default=frozenset(), repr=False, compare=False)
    _longest: int = field(default=0, repr=False, compare=False)
    _authors: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _domains: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def build(cls, words: Iterable[str] = (), authors: Iterable[str] = (), domains: Iterable[str] = ()) -> Blocklist:
        """A blocklist from entries as an operator writes them (duplicates and blanks dropped)."""
        words, authors, domains = (
            tuple(dict.fromkeys(e.strip() for e in v if e.strip())) for v in (words, authors, domains)
        )
        phrases = frozenset(p for p in map(words_of, words) if p)
        return cls(
            words=words,
            authors=authors,
            domains=domains,
            _phrases=phrases,
            _longest=max(map(len, phrases), default=0),
            _authors=frozenset(map(author_entry, authors)),
            _domains=frozenset(map(domain_entry, domains)),
        )

    @classmethod
    def from_json(cls, body: Any) -> Blocklist:
        """Read ``{"words": [...], "authors": [...], "domains": [...]}``; :class:`BlocklistError` says what is wrong."""
        if not isinstance(body, Mapping):
            raise BlocklistError('the blocklist must be a JSON object: {"words": [], "authors": [], "domains": []}')
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise BlocklistError(f"unknown field {unknown[0]!r}: a blocklist has words, authors and domains")
        lists: dict[str, list[str]] = {}
        for name in FIELDS:
            value = body.get(name, [])
            if not isinstance(value, list):
                raise BlocklistError(f"{name} must be a list of strings")
            for index, entry in enumerate(value):
                if not isinstance(entry, str) or not entry.strip():
                    raise BlocklistError(f"{name}[{index}] must be a non-empty string")
                if len(entry) > MAX_ENTRY:
                    raise BlocklistError(f"{name}[{index}] is longer than {MAX_ENTRY} characters")
                if name == "words" and not words_of(entry):
                    raise BlocklistError(f"words[{index}] ({entry!r}) has no letters or digits to match")
            lists[name] = value
        if sum(map(len, lists.values())) > MAX_ENTRIES:
            raise BlocklistError(f"a blocklist holds at most {MAX_ENTRIES} entries")
        for index, entry in enumerate(lists["domains"]):
            try:
                domain_entry(entry)
            except BlocklistError as exc:
                raise BlocklistError(f"domains[{index}]: {exc}") from None
        return cls.build(lists["words"], lists["authors"], lists["domains"])

    def to_json(self) -> dict[str, list[str]]:
        return {"words": list(self.words), "authors": list(self.authors), "domains": list(self.domains)}

    def __bool__(self) -> bool:
        return bool(self.words or self.authors or self.domains)

    def blocks(self, post: Post) -> bool:
        """Whether ``post`` shows something on the list (text, quoted text, author, a link, its instance)."""
        if self._authors and self._blocks_author(post):
            return True
        if self._domains and self._blocks_domain(post):
            return True
        if self._phrases:
            return self._blocks_words(post.text) or bool(post.quoted_text and self._blocks_words(post.quoted_text))
        return False

    def _blocks_words(self, text: str) -> bool:
        words = words_of(text)
        phrases, longest = self._phrases, self._longest
        if not phrases.isdisjoint((w,) for w in words):  # single words: one set operation
            return True
        for start in range(len(words) - 1):
            for size in range(2, min(longest, len(words) - start) + 1):
                if words[start : start + size] in phrases:
                    return True
        return False

    def _blocks_author(self, post: Post) -> bool:
        author = post.author
        if _fold(author.id) in self._authors:
            return True
        return bool(author.username) and author_entry(author.username or "") in self._authors

    def _blocks_domain(self, post: Post) -> bool:
        hosts = [h for h in map(host_of, post.urls) if h]
        if post.source == "mastodon":
            hosts += _mastodon_instances(post)
        return any(suffix in self._domains for host in hosts for suffix in _suffixes(host))


def _mastodon_instances(post: Post) -> list[str]:
    """The author's instance: the domain of ``user@domain``, the host of the post's URL and of the account URI."""
    instances = [h for h in (host_of(post.url),) if h]
    username = post.author.username or ""
    if "@" in username.lstrip("@"):
        instances.append(username.rsplit("@", 1)[1].lower())
    host = host_of(post.author.id) if "//" in post.author.id else None
    if host:
        instances.append(host)
    return instances
