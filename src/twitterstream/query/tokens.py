"""X-style tokenization: how keywords, phrases and post texts are cut into comparable pieces.

Rules (X documents them for filtered-stream rules: "tokenization is based on punctuation, symbol/emoji, and
separator characters", matching is case-insensitive and strict about accents):

* Text is case-folded (``str.casefold``, so ``STRASSE`` and ``straße`` agree) and NFC-normalised; accents
  stay, so ``diacrítica`` and ``diacritica`` differ.
* Letters (L*), marks (M*) and numbers (N*) form tokens; punctuation (P*, including ``_`` and ``'``),
  symbols (S*), separators (Z*) and controls split them: ``coca-cola`` gives ``coca``, ``cola``.
* Emoji: every pictographic character (Unicode ``Extended_Pictographic``) is a token of its own, even with
  no space around it (``I❤you`` gives ``i``, ``❤``, ``you``). Variation selectors (U+FE0F) are removed, so
  ❤️ equals ❤. Skin-tone modifiers are symbols, so they only separate: 👍🏽 gives ``👍`` and matches a query
  for 👍. Zero-width joiners are format characters, so a joined family 👨‍👩‍👧 gives ``👨``, ``👩``, ``👧`` (a
  query for the family matches them as an adjacent sequence, a query for 👩 matches too). Two regional
  indicators make one flag token (🇺🇸).
* Hiragana, Katakana and Han characters are one token each (those scripts put no spaces between words); a
  keyword written in them matches as an adjacent sequence, so ``東京`` finds ``東京タワー``.

``tokenize`` has a fast path for ASCII text (lower-case, then one small compiled regex); the Unicode tables
are built the first time a non-ASCII text is seen.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from twitterstream.query.tables import CJK_RANGES, EMOJI_RANGES, REGIONAL_INDICATORS, VARIATION_SELECTORS

_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_ASCII_WORD_CHAR = re.compile(r"[a-z0-9]")
_DROP_VARIATION_SELECTORS = {cp: None for a, b in VARIATION_SELECTORS for cp in range(a, b + 1)}
_WHITESPACE = re.compile(r"\s+")
#: The last code point the scan for letters, marks and numbers looks at (planes 2 and 3 are Han: CJK_RANGES).
_SCAN_END = 0x20000


def fold(text: str) -> str:
    """Case-fold and NFC-normalise ``text`` and drop variation selectors: the form every comparison uses."""
    if text.isascii():
        return text.lower()
    text = text.translate(_DROP_VARIATION_SELECTORS)
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def tokenize(text: str) -> list[str]:
    """The case-folded tokens of ``text``, in order (see the module docstring for the rules)."""
    if text.isascii():
        return _ASCII_TOKEN.findall(text.lower())
    return _unicode_patterns()[0].findall(fold(text))


def fold_phrase(text: str) -> str:
    """The form an exact-phrase match compares: :func:`fold`, with each run of whitespace made one space."""
    return " ".join(fold(text).split())


def joins(char: str) -> bool:
    """True if ``char`` continues a multi-character token (a letter, mark or number outside CJK and emoji).

    An exact phrase must start and end on token boundaries: ``"cola"`` is not found in "colander".
    """
    if char.isascii():
        return _ASCII_WORD_CHAR.match(char.lower()) is not None
    return _unicode_patterns()[1].match(char) is not None


def is_plain_word(token: str) -> bool:
    """True for a token that comes out the same wherever it stands in a text (not a flag: those pair up)."""
    if token.isascii():
        return True
    low, high = REGIONAL_INDICATORS
    return not any(low <= ord(char) <= high for char in token)


def collapse_whitespace(text: str) -> str:
    """Each run of whitespace made one space, none at either end."""
    return _WHITESPACE.sub(" ", text).strip()


@cache
def _unicode_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(token pattern, word-character pattern), built once from :mod:`unicodedata` (about 30 ms)."""
    emoji = {cp for a, b in EMOJI_RANGES for cp in range(a, b + 1)}
    cjk_bmp = [(a, b) for a, b in CJK_RANGES if b < _SCAN_END]
    word: list[int] = []
    cjk: list[int] = []
    category = unicodedata.category
    for cp in range(0x80, _SCAN_END):
        if category(chr(cp))[0] not in "LMN" or cp in emoji:
            continue
        if any(a <= cp <= b for a, b in cjk_bmp):
            cjk.append(cp)
        else:
            word.append(cp)
    cjk_class = _char_class(_ranges(cjk)) + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in CJK_RANGES if b >= _SCAN_END)
    word_class = "a-z0-9" + _char_class(_ranges(word))
    emoji_class = _char_class(EMOJI_RANGES)
    low, high = REGIONAL_INDICATORS
    flag_class = f"\\U{low:08x}-\\U{high:08x}"
    token = re.compile(f"[{flag_class}]{{2}}|[{flag_class}]|[{emoji_class}]|[{cjk_class}]|[{word_class}]+")
    return token, re.compile(f"[{word_class}]")


def _ranges(code_points: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for cp in code_points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def _char_class(ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)
