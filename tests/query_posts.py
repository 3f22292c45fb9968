"""Posts and queries for the query tests: a small Post builder (every field a query can look at, with plain
defaults) and the hypothesis strategies that generate queries and posts (the query tests and the recent
window's share them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from twitterstream.models import Author, Post

CREATED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def post(
    text: str = "",
    *,
    username: str = "someone",
    author_id: str = "42",
    verified: bool | None = None,
    **fields: Any,
) -> Post:
    """A post from X with ``text``; ``fields`` are any other Post fields (hashtags=("nyc",), lang="en" ...)."""
    return Post(
        id=str(fields.pop("id", "1")),
        source=fields.pop("source", "x"),
        url="https://x.com/i/web/status/1",
        text=text,
        created_at=CREATED,
        author=Author(id=author_id, username=username, name="Some One", verified=verified),
        **fields,
    )


SETTINGS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)

# Words that exercise the tokenizer: case, accents, ß, dotless i, CJK, emoji (with a variation selector and a
# skin tone), flags; few enough that queries and posts share them often.
WORDS = [
    "cat",
    "Cat",
    "dog",
    "DOG",
    "café",
    "cafe",
    "straße",
    "STRASSE",
    "ırmak",  # noqa: RUF001 - the Turkish dotless i, on purpose
    "İstanbul",
    "東京",
    "タワー",
    "🍕",
    "❤️",
    "👍🏽",
    "🇺🇸",
    "42",
    "x1",
    "new",
    "york",
]
SEPARATORS = [" ", " ", ", ", "-", "_", "!", "", "'", ". ", "\n", " #", "."]
word = st.sampled_from(WORDS)
compound = st.builds(lambda a, sep, b: a + sep + b, word, st.sampled_from(["-", "_", "'", "."]), word)
keyword = st.one_of(word, word, compound)
phrase_text = st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), min_size=1, max_size=3).map(
    lambda parts: "".join(w + s for w, s in parts).strip()
)
entity = st.sampled_from(["nyc", "NYC", "news", "café", "x_1"])
user = st.sampled_from(["bob", "Bob", "alice", "42", "alice.bsky.social"])

term = st.one_of(
    keyword,
    keyword,
    phrase_text.map(lambda t: f'"{t}"'),
    st.builds(lambda t, n: f'"{t}"~{n}', phrase_text, st.integers(1, 6)),
    entity.map(lambda e: f"#{e}"),
    user.map(lambda u: f"@{u}"),
    st.sampled_from(["$TWTR", "$fb", "$Aapl"]),
    user.map(lambda u: f"from:{u}"),
    user.map(lambda u: f"to:{u}"),
    st.sampled_from(["url:example.com", 'url:"https://example.com/a"', "url:x.org"]),
    st.sampled_from(["lang:en", "lang:es", "lang:EN", "lang:in"]),
    st.sampled_from(["is:retweet", "is:reply", "is:quote", "is:verified", "-is:nullcast"]),
    st.sampled_from(["has:links", "has:media", "has:images", "has:videos", "has:mentions", "has:hashtags"]),
    st.sampled_from(["has:cashtags", "bio:developer", 'place:"new york"', "has:geo"]),
    st.sampled_from(["source:x", "source:bluesky", "source:replay", "-source:mastodon"]),
)
unary = st.one_of(term, term, term.map(lambda t: t if t.startswith("-") else f"-{t}"))
expression = st.recursive(
    unary,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(" ".join),
        st.lists(inner, min_size=2, max_size=3).map(" OR ".join),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"-({e})"),
    ),
    max_leaves=6,
)
query_text = st.one_of(expression, st.builds(lambda anchor, e: f"{anchor} ({e})", keyword, expression))

posts = st.builds(
    lambda words, seps, hashtags, mentions, cashtags, username, flags, lang, urls, media, quoted, network: post(
        "".join(w + s for w, s in zip(words, seps, strict=False)),
        source=network.partition("/")[0],
        extra={"via": "replay"} if network.endswith("/replay") else {},
        username=username,
        author_id="42",
        verified=flags[0],
        is_retweet=flags[1],
        is_reply=flags[2],
        is_quote=bool(quoted),
        hashtags=tuple(hashtags),
        mentions=tuple(mentions),
        cashtags=tuple(cashtags),
        reply_to=("alice",) if flags[2] else (),
        lang=lang,
        urls=tuple(urls),
        media_types=tuple(media),
        quoted_text=quoted,
    ),
    st.lists(word, max_size=8),
    st.lists(st.sampled_from(SEPARATORS), min_size=8, max_size=8),
    st.lists(entity, max_size=2),
    st.lists(user, max_size=2),
    st.lists(st.sampled_from(["TWTR", "fb"]), max_size=1),
    user,
    st.tuples(st.sampled_from([None, True, False]), st.booleans(), st.booleans()),
    st.sampled_from([None, "en", "es", "id"]),
    st.lists(st.sampled_from(["https://example.com/a", "https://x.org/b"]), max_size=2),
    st.lists(st.sampled_from(["photo", "video", "animated_gif"]), max_size=2),
    st.one_of(st.just(""), phrase_text),
    st.sampled_from(["x", "bluesky", "mastodon", "x/replay"]),  # the network, and the source that delivered it
)
