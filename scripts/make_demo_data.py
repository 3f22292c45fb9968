"""Write the bundled demo file: synthetic posts in X API v2 stream format (no real people's posts).

Run: python scripts/make_demo_data.py [OUTPUT]   (default: src/twitterstream/data/demo.jsonl)

Seeded, so the same script always writes the same bytes (tests/unit/test_demo_data.py regenerates and
compares). Each line is a stream message ``{"data": post, "includes": {"users", "tweets", "media"}}``;
entities are found in the final text, so their indices are right by construction.
"""

from __future__ import annotations

import random
import re
import string
import sys
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from demo_texts import (
    LINK_DOMAINS,
    MENTIONED,
    PEOPLE,
    PHOTOS,
    QUOTES,
    REPLIES,
    REPLIES_TO_MENTIONED,
    SLOTS,
    TEMPLATES,
    TOPIC_TAGS,
)

SEED = 2026
POSTS = 600
#: How often one template may be used (once if it has no slots): more reads as a bot.
MAX_USES = 6
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "src" / "twitterstream" / "data" / "demo.jsonl"

_TWITTER_EPOCH_MS = 1288834974657
_SLOT = re.compile(r"\{(\w+?)(\d?)\}")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6})(?!\w)")
_REPLY_USES = 4  # how often one answer may be given
_RETWEET_LIMIT = 140  # X cuts a retweet's "RT @user: text" at 140 characters; the demo only retweets what fits

Message = dict[str, Any]


@dataclass(frozen=True)
class Person:
    id: str
    username: str
    name: str
    langs: tuple[str, ...]
    topics: tuple[str, ...]
    weight: int
    verified: bool

    def user(self) -> dict[str, Any]:
        """The person as X's ``includes.users`` shows them."""
        return {
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "profile_image_url": f"/static/demo/avatars/{self.username}.svg",
            "verified": self.verified,
        }


class DemoWriter:
    """Builds the demo's messages in order; every text is new, every id unique and increasing."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = START
        self.people = [self._person(*row) for row in PEOPLE]
        self.user_ids = {p.username.lower(): p.id for p in self.people}
        self.user_ids.update({username: user_id for user_id, username, _ in MENTIONED})
        self.texts: set[str] = set()
        self.codes: set[str] = set()
        self.originals: list[tuple[dict[str, Any], Person, list[dict[str, Any]]]] = []
        self.recent_templates: deque[str] = deque(maxlen=25)
        self.uses: Counter[str] = Counter()
        self.sentences: set[str] = set()  # filled templates: no sentence twice, whatever follows it
        self.messages: list[Message] = []
        self.stories = 0

    def _person(self, handle: str, name: str, langs: str, topics: str) -> Person:
        return Person(
            id=str(self.rng.randint(10**8, 10**18)),
            username=f"{handle}_demo",
            name=name,
            langs=tuple(langs.split()),
            topics=tuple(topics.split()),
            weight=self.rng.choice((1, 2, 2, 3, 3, 4, 6)),
            verified=self.rng.random() < 0.15,
        )

    def write(self, count: int) -> list[Message]:
        """``count`` messages: mostly original posts, with replies, retweets and quotes of earlier ones."""
        to_mentioned = set(self.rng.sample(range(40, count), len(REPLIES_TO_MENTIONED)))
        mentioned_replies = iter(REPLIES_TO_MENTIONED)
        for n in range(count):
            self._tick()
            roll = self.rng.random()
            if n in to_mentioned:
                message = self._reply_to_mentioned(*next(mentioned_replies))
            elif n > 30 and roll < 0.08:
                message = self._retweet()
            elif n > 30 and roll < 0.18:
                message = self._reply()
            elif n > 30 and roll < 0.22:
                message = self._quote()
            else:
                message = self._original()
            self.messages.append(message)
        return self.messages

    # -- one message of each kind -------------------------------------------------------------------------

    def _original(self) -> Message:
        for _ in range(200):
            author = self._author()
            choices = [
                t
                for t in TEMPLATES
                if t[0] in author.topics and t[1] in author.langs and self.uses[t[2]] < _max_uses(t[2])
            ]
            if not choices:
                continue
            fresh = [t for t in choices if t[2] not in self.recent_templates] or choices
            topic, lang, template, photo = self.rng.choice(fresh)
            text = sentence = self._fill(template)
            if sentence in self.sentences:
                continue
            if lang == "en" and "#" not in text and self.rng.random() < 0.3:
                text = f"{text} {self.rng.choice(TOPIC_TAGS[topic])}"
            links: dict[str, dict[str, Any]] = {}
            if topic in LINK_DOMAINS and self.rng.random() < 0.35:
                self.stories += 1
                path = f"{topic}/story-{self.stories:04d}"
                text = self._link(text, links, f"https://{LINK_DOMAINS[topic]}/{path}", f"{LINK_DOMAINS[topic]}/{path}")
            post_id = self._id()
            media: list[dict[str, Any]] = []
            if photo and self.rng.random() < 0.85:
                alt_text, width, height = PHOTOS[photo]
                key = f"3_{int(post_id) - self.rng.randint(1 << 20, 1 << 30)}"
                media.append(
                    {"media_key": key, "type": "photo", "url": f"/static/demo/{photo}.svg", "alt_text": alt_text}
                    | {"width": width, "height": height}
                )
                code = self._code()
                links[f"https://t.co/{code}"] = {
                    "expanded_url": f"https://x.com/{author.username}/status/{post_id}/photo/1",
                    "display_url": f"pic.x.com/{code}",
                    "media_key": key,
                }
                text = f"{text} https://t.co/{code}"
            if text in self.texts:
                continue
            self.recent_templates.append(template)
            self.uses[template] += 1
            self.sentences.add(sentence)
            data = self._post(post_id, text, author, lang, links)
            if media:
                data["attachments"] = {"media_keys": [m["media_key"] for m in media]}
            self.originals.append((data, author, media))
            return self._message(data, [author], media=media)
        raise RuntimeError("no new text after 200 tries: add templates or slot values")

    def _reply(self) -> Message:
        for _ in range(200):
            parent, parent_author, _media = self.rng.choice(self.originals[-80:])
            lang = parent["lang"] if parent["lang"] in REPLIES else "en"
            author = self._author(lang)
            answer = self.rng.choice(REPLIES[lang])
            text = f"@{parent_author.username} {answer}"
            if author == parent_author or text in self.texts or self.uses[answer] >= _REPLY_USES:
                continue
            self.uses[answer] += 1
            data = self._post(self._id(), text, author, lang, {})
            data["conversation_id"] = parent["conversation_id"]
            data["in_reply_to_user_id"] = parent_author.id
            data["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            return self._message(data, [author, parent_author])
        return self._original()

    def _reply_to_mentioned(self, username: str, lang: str, answer: str) -> Message:
        author = self.rng.choice([p for p in self.people if lang in p.langs and "space" in p.topics])
        user_id, _, name = next(m for m in MENTIONED if m[1] == username)
        parent_id = str(self._snowflake(self.clock - timedelta(minutes=self.rng.randint(5, 90))))
        data = self._post(self._id(), f"@{username} {answer}", author, lang, {})
        data["conversation_id"] = parent_id
        data["in_reply_to_user_id"] = user_id
        data["referenced_tweets"] = [{"type": "replied_to", "id": parent_id}]
        return self._message(data, [author], extra_users=[{"id": user_id, "name": name, "username": username}])

    def _retweet(self) -> Message:
        for _ in range(200):
            original, original_author, media = self.rng.choice(self.originals)
            author = self._author()
            text = f"RT @{original_author.username}: {original['text']}"
            if author == original_author or len(text) > _RETWEET_LIMIT or text in self.texts:
                continue
            links = {u["url"]: u for u in original.get("entities", {}).get("urls", [])}
            data = self._post(self._id(), text, author, original["lang"], links)
            data["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
            if media:
                data["attachments"] = original["attachments"]
            return self._message(data, [author, original_author], tweets=[original], media=media)
        return self._original()

    def _quote(self) -> Message:
        quoted, quoted_author, _media = self.rng.choice(self.originals)
        author = self._author()
        langs = [lang for lang in author.langs if lang in QUOTES]
        lang = langs[0] if langs else "en"
        comments = [c for c in QUOTES[lang] if c not in self.sentences]
        if not comments or author == quoted_author:
            return self._original()
        comment = self.rng.choice(comments)
        self.sentences.add(comment)
        links: dict[str, dict[str, Any]] = {}
        status = f"x.com/{quoted_author.username}/status/{quoted['id']}"
        text = self._link(comment, links, f"https://{status}", status)
        data = self._post(self._id(), text, author, lang, links)
        data["referenced_tweets"] = [{"type": "quoted", "id": quoted["id"]}]
        return self._message(data, [author, quoted_author], tweets=[quoted])

    # -- pieces -------------------------------------------------------------------------------------------

    def _post(self, post_id: str, text: str, author: Person, lang: str, links: dict[str, dict[str, Any]]) -> Message:
        self.texts.add(text)
        data: dict[str, Any] = {
            "id": post_id,
            "text": text,
            "edit_history_tweet_ids": [post_id],
            "author_id": author.id,
            "conversation_id": post_id,
            "created_at": self.clock.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "lang": lang,
            "possibly_sensitive": False,
        }
        entities = self._entities(text, links)
        if entities:
            data["entities"] = entities
        return data

    def _message(
        self,
        data: dict[str, Any],
        people: list[Person],
        tweets: list[dict[str, Any]] | None = None,
        media: list[dict[str, Any]] | None = None,
        extra_users: list[dict[str, Any]] | None = None,
    ) -> Message:
        includes: dict[str, Any] = {"users": [p.user() for p in dict.fromkeys(people)] + (extra_users or [])}
        if tweets:
            includes["tweets"] = tweets
        if media:
            includes["media"] = media
        return {"data": data, "includes": includes}

    def _entities(self, text: str, links: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """X's entities of ``text``: every #hashtag, @mention, $cashtag and link, with their indices."""
        entities: dict[str, list[dict[str, Any]]] = {}
        for match in _HASHTAG.finditer(text):
            entities.setdefault("hashtags", []).append({"start": match.start(), "end": match.end(), "tag": match[1]})
        for match in _MENTION.finditer(text):
            user_id = self.user_ids[match[1].lower()]  # a KeyError: a template mentions someone unknown
            mention = {"start": match.start(), "end": match.end(), "username": match[1], "id": user_id}
            entities.setdefault("mentions", []).append(mention)
        for match in _CASHTAG.finditer(text):
            entities.setdefault("cashtags", []).append({"start": match.start(), "end": match.end(), "tag": match[1]})
        for url, link in links.items():
            start = text.find(url)
            if start >= 0:
                entry = {"start": start, "end": start + len(url), "url": url}
                entry.update((k, v) for k, v in link.items() if k in ("expanded_url", "display_url", "media_key"))
                entities.setdefault("urls", []).append(entry)
        return entities

    def _link(self, text: str, links: dict[str, dict[str, Any]], expanded: str, display: str) -> str:
        url = f"https://t.co/{self._code()}"
        links[url] = {"expanded_url": expanded, "display_url": display}
        return f"{text} {url}"

    def _fill(self, template: str) -> str:
        used: dict[str, list[str]] = {}

        def value(match: re.Match[str]) -> str:
            family = used.setdefault(match[1], [])
            choice = self.rng.choice([v for v in SLOTS[match[1]] if v not in family])
            family.append(choice)
            return choice

        return _SLOT.sub(value, template)

    def _author(self, lang: str | None = None) -> Person:
        people = [p for p in self.people if lang is None or lang in p.langs]
        return self.rng.choices(people, weights=[p.weight for p in people])[0]

    def _code(self) -> str:
        while True:
            code = "".join(self.rng.choices(string.ascii_letters + string.digits, k=10))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _tick(self) -> None:
        self.clock += timedelta(seconds=self.rng.randint(3, 40))

    def _id(self) -> str:
        return str(self._snowflake(self.clock))

    def _snowflake(self, when: datetime) -> int:
        """An X-style id: milliseconds since X's epoch, then 22 bits (so ``snowflake_time`` reads the time)."""
        millis = int(when.timestamp() * 1000) - _TWITTER_EPOCH_MS
        return (millis << 22) | self.rng.getrandbits(22)


def _max_uses(template: str) -> int:
    return MAX_USES if _SLOT.search(template) else 1


def main(argv: list[str]) -> None:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    messages = DemoWriter(SEED).write(POSTS)
    output.write_bytes(b"".join(orjson.dumps(message) + b"\n" for message in messages))


if __name__ == "__main__":
    main(sys.argv)
