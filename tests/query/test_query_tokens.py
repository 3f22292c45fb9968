"""Tokenization, X-style: punctuation and symbols split, letters/marks/numbers join, emoji stand alone."""

from __future__ import annotations

import unicodedata

import pytest

from twitterstream.query import tokenize
from twitterstream.query.tables import EMOJI_RANGES
from twitterstream.query.tokens import fold, fold_phrase, joins


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I like coca-cola", ["i", "like", "coca", "cola"]),
        ("Hello, World!!! (again)", ["hello", "world", "again"]),
        ("snake_case and kebab-case", ["snake", "case", "and", "kebab", "case"]),
        ("don't stop", ["don", "t", "stop"]),
        ("3.14 is π", ["3", "14", "is", "π"]),
        ("price: $100 #deal @shop", ["price", "100", "deal", "shop"]),
        ("https://example.com/a?b=c", ["https", "example", "com", "a", "b", "c"]),
        ("tab\tnew\nline\u00a0nbsp", ["tab", "new", "line", "nbsp"]),
        ("", []),
        ("!!! ... ---", []),
    ],
)
def test_punctuation_symbols_and_separators_split_tokens(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_tokens_are_case_folded() -> None:
    assert tokenize("CAT Cat cAt") == ["cat", "cat", "cat"]
    assert tokenize("STRASSE straße") == ["strasse", "strasse"]
    assert tokenize("ΣΊΣΥΦΟΣ") == tokenize("σίσυφος")


def test_accents_are_kept_and_are_letters_not_boundaries() -> None:
    assert tokenize("Diacrítica") == ["diacrítica"]
    assert tokenize("diacrítica") != tokenize("diacritica")


def test_text_is_nfc_normalised() -> None:
    decomposed = "cafe\u0301"
    assert tokenize(decomposed) == tokenize("café") == ["café"]


def test_marks_join_tokens_in_scripts_that_use_them() -> None:
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_each_emoji_is_a_token_even_without_spaces() -> None:
    assert tokenize("I like 🍕") == ["i", "like", "🍕"]
    assert tokenize("I❤you🍕🍕") == ["i", "❤", "you", "🍕", "🍕"]


def test_variation_selector_is_ignored() -> None:
    assert tokenize("❤️") == tokenize("❤") == ["❤"]


def test_skin_tone_modifier_only_separates() -> None:
    assert tokenize("nice 👍🏽") == ["nice", "👍"]


def test_zero_width_joiner_sequence_gives_its_emoji() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert tokenize(family) == ["\U0001f468", "\U0001f469", "\U0001f467"]


def test_two_regional_indicators_are_one_flag_token() -> None:
    assert tokenize("go 🇺🇸🇫🇷") == ["go", "🇺🇸", "🇫🇷"]


def test_cjk_characters_are_one_token_each() -> None:
    assert tokenize("東京タワーに行く") == ["東", "京", "タ", "ワ", "ー", "に", "行", "く"]
    assert tokenize("한국어 문장") == ["한국어", "문장"]


def test_ascii_fast_path_agrees_with_unicode_path() -> None:
    text = "Hello, World_42! it's a-b c.d"
    assert tokenize(text) == tokenize(text + " é")[:-1]


def test_fold_phrase_normalises_case_and_whitespace() -> None:
    assert fold_phrase("  Coca-Cola\n\tIS  great ") == "coca-cola is great"
    assert fold("❤️") == "❤"


def test_word_characters_join_and_others_do_not() -> None:
    assert joins("a") and joins("7") and joins("é") and joins("\u0301")
    assert not joins("-") and not joins(" ") and not joins("_") and not joins("🍕") and not joins("東")


def test_emoji_table_is_unicode_extended_pictographic() -> None:
    regex = pytest.importorskip("regex")
    pictographic = regex.compile(r"\p{Extended_Pictographic}")
    expected = [cp for cp in range(0x110000) if pictographic.match(chr(cp))]
    assert [cp for a, b in EMOJI_RANGES for cp in range(a, b + 1)] == expected


def test_tokenize_tolerates_every_category() -> None:
    sample = "".join(chr(cp) for cp in range(0, 0x3000, 7) if unicodedata.category(chr(cp)) != "Cs")
    assert all(isinstance(token, str) and token for token in tokenize(sample))
