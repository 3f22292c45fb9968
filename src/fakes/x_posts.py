"""Builders for X API v2 payloads (posts, users, media) shaped the way X sends them.

What X does to a post that these builders copy:

- ids are snowflakes: 19-digit decimal strings, increasing with time (``next_snowflake``);
- ``text`` is HTML-escaped for ``&``, ``<`` and ``>`` (the API sends ``&amp;``), every link in it is
  replaced by a ``https://t.co/...`` link, and a media attachment adds one more t.co link at the end;
- ``entities`` (hashtags, mentions, cashtags, urls) carry ``start``/``end`` offsets counted in characters
  (code points) of that escaped text, end exclusive; empty entity lists are left out, as X leaves them out;
- a retweet's text is ``RT @user: original text``; replies carry ``in_reply_to_user_id`` and the parent's
  ``conversation_id``; every post has ``edit_history_tweet_ids``.

The builders are independent of the application's own payload code on purpose.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from datetime import UTC, datetime
from typing import Any

#: X's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds.
TWEPOCH_MS = 1288834974657

_snowflake_lock = threading.Lock()
_last_snowflake = 0

PostRef = dict[str, Any] | tuple[dict[str, Any], dict[str, Any]] | str | int


def next_snowflake(at: datetime | None = None) -> str:
    """A new snowflake id for time ``at`` (default now), strictly greater than every id handed out before."""
    global _last_snowflake
    moment = at or datetime.now(UTC)
    candidate = (int(moment.timestamp() * 1000) - TWEPOCH_MS) << 22
    with _snowflake_lock:
        if candidate <= _last_snowflake:
            candidate = _last_snowflake + 1
        _last_snowflake = candidate
    return str(candidate)


def snowflake_time(snowflake: str | int) -> datetime | None:
    """The creation time encoded in a snowflake, or None for ids too small to be snowflakes (or hostile ones
    that are not numbers at all, see ``fakes.hostile``)."""
    if not str(snowflake).isdigit():
        return None
    value = int(snowflake)
    if value < 1 << 32:
        return None
    return datetime.fromtimestamp(((value >> 22) + TWEPOCH_MS) / 1000, UTC)


def iso_time(moment: datetime) -> str:
    """X's timestamp format: ``2021-02-10T15:01:33.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """Parse X's (or any ISO 8601) timestamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def user_id_for(username: str) -> str:
    """A stable numeric user id for a username (for mentions of users the test did not build)."""
    digest = hashlib.sha256(username.lower().encode()).digest()
    return str(10**17 + int.from_bytes(digest[:8], "big") % (9 * 10**17))


def _tco(seed: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    code = ""
    for _ in range(10):
        number, digit = divmod(number, len(alphabet))
        code += alphabet[digit]
    return "https://t.co/" + code


def _display_url(url: str) -> str:
    shown = re.sub(r"^https?://(www\.)?", "", url)
    return shown if len(shown) <= 26 else shown[:25] + "\u2026"


# Entity recognisers, approximating twitter-text: a hashtag/mention/cashtag must not follow a word character.
_URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,:;!?)\]'\u2026]")
_HASHTAG_RE = re.compile(r"(?<![\w&/])[#\uff03]((?:[^\W_]|_|[\u0300-\u036f])*[^\W\d_](?:[^\W_]|_|[\u0300-\u036f])*)")
_MENTION_RE = re.compile(r"(?<![\w@/])[@\uff20]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@])")
_CASHTAG_RE = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![A-Za-z0-9_])")
_TCO_RE = re.compile(r"https://t\.co/[A-Za-z0-9]+")


def escape_text(text: str) -> str:
    """Escape the way the X API does in ``text``: only ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrap_links(text: str, seed: str) -> tuple[str, list[str]]:
    """Replace each http(s) link with a t.co link; return the new text and the original links in order."""
    originals: list[str] = []

    def replace(match: re.Match[str]) -> str:
        originals.append(match.group(0))
        return _tco(f"{seed}:{len(originals)}:{match.group(0)}")

    return _URL_RE.sub(replace, text), originals


def compute_entities(
    text: str, expanded_urls: list[str] | None = None, media_urls: dict[str, dict[str, Any]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Entities of an (already escaped, already t.co-wrapped) post text, with character offsets.

    ``expanded_urls`` gives, in order, the original link behind each t.co link; ``media_urls`` maps a t.co
    link to the extra keys of a media url entity (``expanded_url``, ``display_url``, ``media_key``).
    """
    expanded = list(expanded_urls or [])
    media_urls = media_urls or {}
    entities: dict[str, list[dict[str, Any]]] = {}
    urls = []
    for match in _TCO_RE.finditer(text):
        url = match.group(0)
        entity: dict[str, Any] = {"start": match.start(), "end": match.end(), "url": url}
        if url in media_urls:
            entity.update(media_urls[url])
        else:
            target = expanded.pop(0) if expanded else url
            entity.update({"expanded_url": target, "display_url": _display_url(target)})
        urls.append(entity)
    hashtags = [
        {"start": m.start(), "end": m.end(), "tag": m.group(1)}
        for m in _HASHTAG_RE.finditer(text)
        if not _inside(m.start(), urls)
    ]
    mentions = [
        {"start": m.start(), "end": m.end(), "username": m.group(1), "id": user_id_for(m.group(1))}
        for m in _MENTION_RE.finditer(text)
        if not _inside(m.start(), urls)
    ]
    cashtags = [
        {"start": m.start(), "end": m.end(), "tag": m.group(1)}
        for m in _CASHTAG_RE.finditer(text)
        if not _inside(m.start(), urls)
    ]
    for name, items in (
        ("cashtags", cashtags),
        ("hashtags", hashtags),
        ("mentions", mentions),
        ("urls", urls),
    ):
        if items:
            entities[name] = items
    return entities


def _inside(position: int, spans: list[dict[str, Any]]) -> bool:
    return any(span["start"] <= position < span["end"] for span in spans)


def make_user(user_id: str = "1", username: str = "someone", name: str = "Some One", **extra: Any) -> dict[str, Any]:
    """An X user object with the fields X returns for the usual ``user.fields``."""
    user: dict[str, Any] = {
        "id": str(user_id),
        "name": name,
        "username": username,
        "created_at": "2012-03-04T05:06:07.000Z",
        "description": "",
        "profile_image_url": f"https://pbs.twimg.com/profile_images/{user_id}/avatar_normal.jpg",
        "protected": False,
        "verified": False,
        "public_metrics": {
            "followers_count": 10,
            "following_count": 20,
            "tweet_count": 30,
            "listed_count": 0,
        },
    }
    user.update(extra)
    return user


def make_media(media_key: str, media_type: str = "photo", alt_text: str | None = None) -> dict[str, Any]:
    """A media object (``includes.media``) for a media key: photos have a ``url``, videos and GIFs a
    ``preview_image_url`` (X's poster frame); ``alt_text`` only when the author wrote one."""
    code = media_key.split("_")[-1]
    media: dict[str, Any] = {"media_key": media_key, "type": media_type, "width": 1200, "height": 675}
    if alt_text is not None:
        media["alt_text"] = alt_text
    if media_type == "photo":
        media["url"] = f"https://pbs.twimg.com/media/F{code}.jpg"
    else:
        media["preview_image_url"] = f"https://pbs.twimg.com/ext_tw_video_thumb/{code}/pu/img/preview.jpg"
        media["duration_ms"] = 12000
    return media


def media_for(post: dict[str, Any]) -> list[dict[str, Any]]:
    """The media objects for a post built by ``make_post(..., media=...)`` (photos)."""
    keys = post.get("attachments", {}).get("media_keys", [])
    return [make_media(key) for key in keys]


def _ref_parts(ref: PostRef) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(id, post or None, user or None) of a referenced post given as a pair, a post dict, or an id."""
    if isinstance(ref, tuple):
        return str(ref[0]["id"]), ref[0], ref[1]
    if isinstance(ref, dict):
        return str(ref["id"]), ref, None
    return str(ref), None, None


def make_post(
    id: int | str | None,
    text: str = "",
    *,
    author_id: str = "1",
    username: str = "someone",
    name: str = "Some One",
    lang: str = "en",
    created_at: datetime | str | None = None,
    retweet_of: PostRef | None = None,
    reply_to: PostRef | None = None,
    quote_of: PostRef | None = None,
    media: bool | int = False,
    escape: bool = True,
    **extra: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A post as X would deliver it with all the usual ``tweet.fields``, and its author.

    ``id`` None makes a fresh snowflake; an int/str is used as given (``str(id)``). ``text`` is what the
    author typed: it is wrapped (t.co) and escaped like X does unless ``escape=False``. A retweet of a
    ``(post, user)`` pair with empty ``text`` gets X's ``RT @user: ...`` text. ``media`` adds that many
    photos (a t.co link in the text and ``attachments.media_keys``; ``media_for(post)`` builds their media
    objects). ``extra`` keys are set on the post last.
    """
    post_id = next_snowflake() if id is None else str(id)
    if created_at is None:
        moment = snowflake_time(post_id) or datetime.now(UTC)
        created = iso_time(moment)
    elif isinstance(created_at, datetime):
        created = iso_time(created_at)
    else:
        created = created_at

    referenced: list[dict[str, str]] = []
    conversation_id = post_id
    in_reply_to_user_id: str | None = None
    if retweet_of is not None:
        original_id, original, original_user = _ref_parts(retweet_of)
        referenced.append({"type": "retweeted", "id": original_id})
        if not text and original is not None:
            original_name = original_user["username"] if original_user else "someone"
            original_text = html.unescape(original["text"])
            text = f"RT @{original_name}: {original_text}"
    if quote_of is not None:
        referenced.append({"type": "quoted", "id": _ref_parts(quote_of)[0]})
    if reply_to is not None:
        parent_id, parent, parent_user = _ref_parts(reply_to)
        referenced.append({"type": "replied_to", "id": parent_id})
        if parent is not None:
            conversation_id = str(parent.get("conversation_id", parent_id))
            in_reply_to_user_id = str(parent.get("author_id", parent_user["id"] if parent_user else ""))
        else:
            conversation_id = parent_id
        if parent_user is not None:
            in_reply_to_user_id = str(parent_user["id"])

    wrapped, originals = wrap_links(text, post_id)
    media_keys: list[str] = []
    media_urls: dict[str, dict[str, Any]] = {}
    count = int(media)
    if count:
        media_key = f"3_{int(post_id) + 7}"
        media_keys = [f"3_{int(post_id) + 7 + n}" for n in range(count)]
        tco = _tco(f"{post_id}:media")
        media_urls[tco] = {
            "expanded_url": f"https://x.com/{username}/status/{post_id}/photo/1",
            "display_url": f"pic.x.com/{tco.rsplit('/', 1)[1]}",
            "media_key": media_key,
        }
        wrapped = f"{wrapped} {tco}" if wrapped else tco
    final_text = escape_text(wrapped) if escape else wrapped
    entities = compute_entities(final_text, originals, media_urls)

    post: dict[str, Any] = {
        "id": post_id,
        "text": final_text,
        "edit_history_tweet_ids": [post_id],
        "author_id": str(author_id),
        "conversation_id": conversation_id,
        "created_at": created,
        "lang": lang,
        "possibly_sensitive": False,
        "reply_settings": "everyone",
        "public_metrics": {
            "retweet_count": 0,
            "reply_count": 0,
            "like_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 0,
        },
    }
    if entities:
        post["entities"] = entities
    if referenced:
        post["referenced_tweets"] = referenced
    if in_reply_to_user_id:
        post["in_reply_to_user_id"] = in_reply_to_user_id
    if media_keys:
        post["attachments"] = {"media_keys": media_keys}
    post.update(extra)
    return post, make_user(author_id, username, name)
