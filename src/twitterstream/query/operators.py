"""Every operator of X's filtered-stream rule language: whether it can stand alone, whether the local
matcher can evaluate it, and how its value is checked and spelled canonically.

Sources: X's "Filtered Stream Operators" and "Build a rule" pages (docs.x.com). Standalone operators can
make a rule on their own; conjunction-required ones (``is:``, ``has:``, ``lang:``, ``sample:``, and our own
``source:``) need a standalone term in the same clause. Operators the local matcher cannot evaluate are still
valid rules (X evaluates them): a source that matches locally must refuse them (``Query.unsupported``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from twitterstream.query.tokens import collapse_whitespace, tokenize

#: Names a source may list in its ``capabilities``: every operator the local matcher evaluates.
#: ``has:videos`` is X's older name for ``has:video_link``; queries store the current name.
LOCAL_OPERATORS: frozenset[str] = frozenset(
    {
        "keyword",
        "phrase",
        "proximity",
        "hashtag",
        "mention",
        "cashtag",
        "from",
        "to",
        "url",
        "lang",
        "is:retweet",
        "is:reply",
        "is:quote",
        "is:verified",
        "has:links",
        "has:media",
        "has:images",
        "has:videos",
        "has:video_link",
        "has:mentions",
        "has:hashtags",
        "has:cashtags",
        "source",
    }
)

#: The values of ``source:``: the sources of ``TWITTERSTREAM_SOURCE``. A post's is the source that delivered it
#: (``Post.delivered_by``): its network, or ``replay`` for whatever the replay file holds.
SOURCE_NAMES = ("x", "bluesky", "mastodon", "replay")


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """One operator; ``check`` turns a raw value into its canonical spelling or raises ValueError(reason)."""

    name: str
    standalone: bool
    check: Callable[[str], str] | None = None  # None for the value-less flags
    negatable: bool = True
    must_negate: bool = False
    brackets: bool = False  # the value is written [a b c] (point_radius, bounding_box)


# -- value checks ------------------------------------------------------------------------------------------

_USER = re.compile(r"\w(?:[\w.@-]*\w)?")
_DIGITS = re.compile(r"[0-9]{1,25}")
_RANGE = re.compile(r"[0-9]{1,12}(?:\.\.[0-9]{1,12})?")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_CONTEXT = re.compile(r"[0-9]{1,25}\.(?:[0-9]{1,25}|\*)")
_NUMBER = r"[-+]?(?:[0-9]{1,3}(?:\.[0-9]{1,12})?)"
_POINT_RADIUS = re.compile(rf"{_NUMBER} {_NUMBER} [0-9]{{1,3}}(?:\.[0-9]{{1,6}})?(?:km|mi)")
_BOUNDING_BOX = re.compile(rf"{_NUMBER} {_NUMBER} {_NUMBER} {_NUMBER}")
_THRESHOLD = re.compile(r"(?:0(?:\.[0-9]{1,6})?|1(?:\.0{1,6})?|\.[0-9]{1,6})")


def _text(value: str) -> str:
    value = collapse_whitespace(value).lower()
    if not value:
        raise ValueError("needs a value")
    return value


def _user(value: str) -> str:
    value = value.removeprefix("@").lower()
    if not _USER.fullmatch(value):
        raise ValueError("takes one username (without @) or numeric user id")
    return value


def _pattern(pattern: re.Pattern[str], reason: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        value = collapse_whitespace(value).lower()
        if not pattern.fullmatch(value):
            raise ValueError(reason)
        return value

    return check


def _range_example(name: str, value: str) -> str:
    return f"takes a number or a range, e.g. {name}:{value}"


def _url(value: str) -> str:
    value = _text(value)
    if not tokenize(value):
        raise ValueError("needs letters or numbers to match in a URL")
    return value


def _sample(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= 100:
        raise ValueError("takes a percentage from 1 to 100")
    return str(int(value))


def _source(value: str) -> str:
    name = value.strip().lower()
    if name not in SOURCE_NAMES:
        raise ValueError(f"takes a network: {', '.join(SOURCE_NAMES[:-1])} or {SOURCE_NAMES[-1]}")
    return name


def _lang(value: str) -> str:
    code = value.lower()
    primary, _, region = code.partition("-")
    if primary not in LANGUAGE_CODES or (region and not _REGION.fullmatch(region)) or code.count("-") > 1:
        raise ValueError("takes a language code such as en, es, ja, pt or zh-cn")
    return code


_REGION = re.compile(r"[a-z]{2}|[0-9]{3}|[a-z]{4}")

#: X's language codes (its documented list, older and current) plus every ISO 639-1 code, because Bluesky and
#: Mastodon posts carry whatever their authors' apps chose. ``und`` is X's "undetermined".
# fmt: off
LANGUAGE_CODES: frozenset[str] = frozenset(
    [
        "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi",
        "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de", "dv",
        "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy", "ga", "gd",
        "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia", "id", "ie", "ig",
        "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko",
        "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv", "mg", "mh",
        "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr",
        "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru",
        "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su",
        "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug",
        "uk", "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu", "in", "iw", "ji",
        "ckb", "und",
    ]
)
# fmt: on

#: X's codes that differ from ISO 639-1 (Indonesian, Hebrew, Yiddish) and Norwegian Bokmål: the same language.
LANGUAGE_ALIASES: dict[str, frozenset[str]] = {
    code: group for group in map(frozenset, (("in", "id"), ("iw", "he"), ("ji", "yi"), ("no", "nb"))) for code in group
}

# -- the table ---------------------------------------------------------------------------------------------

_SPECS = [
    # Local: the matcher evaluates these.
    OperatorSpec("from", True, _user),
    OperatorSpec("to", True, _user),
    OperatorSpec("url", True, _url),
    OperatorSpec("lang", False, _lang),
    OperatorSpec("is:retweet", False),
    OperatorSpec("is:reply", False),
    OperatorSpec("is:quote", False),
    OperatorSpec("is:verified", False),
    OperatorSpec("has:links", False),
    OperatorSpec("has:media", False),
    OperatorSpec("has:images", False),
    OperatorSpec("has:video_link", False),
    OperatorSpec("has:mentions", False),
    OperatorSpec("has:hashtags", False),
    OperatorSpec("has:cashtags", False),
    # Ours, never sent to X: the network a post comes from. Like is:, it narrows and cannot stand alone (a rule of
    # a whole network's firehose is not a search). X's own source: (the posting app) cannot be written here.
    OperatorSpec("source", False, _source),
    # X only: valid rules, evaluated by X.
    OperatorSpec("retweets_of", True, _user),
    OperatorSpec("from_affiliate_of", True, _user),
    OperatorSpec("to_affiliate_of", True, _user),
    OperatorSpec("conversation_id", True, _pattern(_DIGITS, "takes a numeric post id")),
    OperatorSpec("in_reply_to_tweet_id", True, _pattern(_DIGITS, "takes a numeric post id")),
    OperatorSpec("retweets_of_tweet_id", True, _pattern(_DIGITS, "takes a numeric post id")),
    OperatorSpec("context", True, _pattern(_CONTEXT, "takes domain_id.entity_id, e.g. context:10.7990222")),
    OperatorSpec("entity", True, _text),
    OperatorSpec("bio", True, _text),
    OperatorSpec("bio_name", True, _text),
    OperatorSpec("bio_location", True, _text),
    OperatorSpec("place", True, _text),
    OperatorSpec("place_country", True, _pattern(_COUNTRY, "takes a two-letter country code, e.g. place_country:US")),
    OperatorSpec(
        "point_radius",
        True,
        _pattern(_POINT_RADIUS, "takes [longitude latitude radius], e.g. point_radius:[2.355128 48.861118 16km]"),
        brackets=True,
    ),
    OperatorSpec(
        "bounding_box",
        True,
        _pattern(_BOUNDING_BOX, "takes [west_long south_lat east_long north_lat]"),
        brackets=True,
    ),
    OperatorSpec("url_title", True, _text),
    OperatorSpec("url_description", True, _text),
    OperatorSpec("url_contains", True, _text),
    OperatorSpec("min_followers", True, _pattern(_DIGITS, "takes a number")),
    OperatorSpec("followers_count", True, _pattern(_RANGE, _range_example("followers_count", "1000..10000"))),
    OperatorSpec("tweets_count", True, _pattern(_RANGE, _range_example("tweets_count", "1000..10000"))),
    OperatorSpec("following_count", True, _pattern(_RANGE, _range_example("following_count", "500..1000"))),
    OperatorSpec("listed_count", True, _pattern(_RANGE, _range_example("listed_count", "10..100"))),
    OperatorSpec("embedding", True, _text, negatable=False),
    OperatorSpec("embedding_threshold", False, _pattern(_THRESHOLD, "takes a number from 0 to 1")),
    OperatorSpec("sample", False, _sample, negatable=False),
    OperatorSpec("is:nullcast", False, must_negate=True),
    OperatorSpec("has:geo", False),
]

#: Operators written ``name:value``, by name.
VALUE_OPERATORS: dict[str, OperatorSpec] = {spec.name: spec for spec in _SPECS if spec.check is not None}
#: Operators written ``is:x`` / ``has:x``, by full name; ``has:videos`` is an alias.
FLAGS: dict[str, OperatorSpec] = {spec.name: spec for spec in _SPECS if spec.check is None}
FLAG_ALIASES: dict[str, str] = {"has:videos": "has:video_link"}
#: Every operator name, for ``spec_of``.
SPECS: dict[str, OperatorSpec] = {spec.name: spec for spec in _SPECS}

#: The standalone entity and text terms (not in the table: they have their own syntax).
STANDALONE_TERMS = frozenset({"keyword", "phrase", "proximity", "hashtag", "mention", "cashtag"})


def is_standalone(operator: str) -> bool:
    """True if ``operator`` can make a rule on its own."""
    return operator in STANDALONE_TERMS or SPECS[operator].standalone
