"""Parsing: precedence, grouping, negation, every operator, canonical keys, and every error with its position."""

from __future__ import annotations

import pickle

import pytest

from twitterstream.query import LOCAL_OPERATORS, Query, QueryError, parse
from twitterstream.query.ast import (
    And,
    Cashtag,
    Flag,
    Hashtag,
    Keyword,
    Mention,
    Not,
    Operator,
    Or,
    Phrase,
    Proximity,
)


def kw(text: str) -> Keyword:
    return Keyword(text)


# -- structure -------------------------------------------------------------------------------------------------


def test_space_is_and() -> None:
    assert parse("snow day #NoSchool").tree == And((kw("snow"), kw("day"), Hashtag("noschool")))


def test_and_binds_tighter_than_or() -> None:
    assert parse("apple OR iphone ipad").tree == Or((kw("apple"), And((kw("iphone"), kw("ipad")))))
    assert parse("ipad iphone OR android").tree == Or((And((kw("ipad"), kw("iphone"))), kw("android")))


def test_parentheses_group() -> None:
    assert parse("(apple OR iphone) ipad").tree == And((Or((kw("apple"), kw("iphone"))), kw("ipad")))


def test_nested_groups_are_flattened_and_redundant_parentheses_dropped() -> None:
    assert parse("((a)) (b (c d))").tree == And((kw("a"), kw("b"), kw("c"), kw("d")))
    assert parse("a OR (b OR (c OR d))").tree == Or((kw("a"), kw("b"), kw("c"), kw("d")))


def test_exact_duplicate_operands_are_dropped_keeping_order() -> None:
    assert parse("b a b A").tree == And((kw("b"), kw("a")))
    assert parse("x OR y OR x").tree == Or((kw("x"), kw("y")))
    assert parse("cat cat").tree == kw("cat")


def test_minus_negates_a_term() -> None:
    assert parse("cat #meme -grumpy").tree == And((kw("cat"), Hashtag("meme"), Not(kw("grumpy"))))
    assert parse('cats -"grumpy cat" -#meme -from:bob -is:retweet').tree == And(
        (
            kw("cats"),
            Not(Phrase("grumpy cat")),
            Not(Hashtag("meme")),
            Not(Operator("from", "bob")),
            Not(Flag("is:retweet")),
        )
    )


def test_negated_group_is_rewritten_as_x_recommends() -> None:
    assert parse("skiing -(snow OR day OR noschool)").key == "skiing -snow -day -noschool"
    assert parse("skiing -(snow day)").key == "skiing (-snow OR -day)"
    assert parse("skiing -(-snow)").key == "skiing snow"


def test_a_word_followed_by_a_dash_is_one_keyword() -> None:
    assert parse("covid-19").tree == kw("covid-19")


def test_terms_may_touch_at_quotes_and_parentheses() -> None:
    assert parse('a"b c"(d OR e)').key == 'a "b c" (d OR e)'


# -- terms -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree", "operator"),
    [
        ("Cat", Keyword("cat"), "keyword"),
        ("🍕", Keyword("🍕"), "keyword"),
        ('"Coca-Cola"', Phrase("coca-cola"), "phrase"),
        ('"social   media"~5', Proximity("social media", 5), "proximity"),
        ("#ThankUNext", Hashtag("thankunext"), "hashtag"),
        ("@XDevelopers", Mention("xdevelopers"), "mention"),
        ("$twtr", Cashtag("TWTR"), "cashtag"),
        ("from:XDevelopers", Operator("from", "xdevelopers"), "from"),
        ("from:@XDevelopers", Operator("from", "xdevelopers"), "from"),
        ("from:2244994945", Operator("from", "2244994945"), "from"),
        ("to:api", Operator("to", "api"), "to"),
        ('url:"https://developer.X.com"', Operator("url", "https://developer.x.com"), "url"),
        ("url:developer.x.com", Operator("url", "developer.x.com"), "url"),
        ("retweets_of:XDevelopers", Operator("retweets_of", "xdevelopers"), "retweets_of"),
        ("conversation_id:1334987486343299072", Operator("conversation_id", "1334987486343299072"), "conversation_id"),
        ('bio:"Data Engineer"', Operator("bio", "data engineer"), "bio"),
        ("bio_name:phd", Operator("bio_name", "phd"), "bio_name"),
        ('bio_location:"big apple"', Operator("bio_location", "big apple"), "bio_location"),
        ('place:"new york city"', Operator("place", "new york city"), "place"),
        ("place_country:US", Operator("place_country", "us"), "place_country"),
        ("point_radius:[2.355128 48.861118 16km]", Operator("point_radius", "2.355128 48.861118 16km"), "point_radius"),
        (
            "bounding_box:[-105.301758 39.964069 -105.178505 40.09455]",
            Operator("bounding_box", "-105.301758 39.964069 -105.178505 40.09455"),
            "bounding_box",
        ),
        ("context:10.799022225751871488", Operator("context", "10.799022225751871488"), "context"),
        ("context:47.*", Operator("context", "47.*"), "context"),
        ('entity:"Michael Jordan"', Operator("entity", "michael jordan"), "entity"),
        ("followers_count:1000..10000", Operator("followers_count", "1000..10000"), "followers_count"),
    ],
)
def test_standalone_terms(text: str, tree: object, operator: str) -> None:
    query = parse(text)
    assert query.tree == tree
    assert query.operators == {operator}


@pytest.mark.parametrize(
    ("flag", "name"),
    [
        ("is:retweet", "is:retweet"),
        ("is:reply", "is:reply"),
        ("is:quote", "is:quote"),
        ("is:verified", "is:verified"),
        ("has:links", "has:links"),
        ("has:media", "has:media"),
        ("has:images", "has:images"),
        ("has:video_link", "has:video_link"),
        ("has:videos", "has:video_link"),
        ("has:mentions", "has:mentions"),
        ("has:hashtags", "has:hashtags"),
        ("has:cashtags", "has:cashtags"),
        ("has:geo", "has:geo"),
        ("-is:nullcast", "is:nullcast"),
        ("lang:EN", "lang"),
        ("sample:15", "sample"),
        ("IS:Retweet", "is:retweet"),
    ],
)
def test_conjunction_required_operators_next_to_a_standalone_term(flag: str, name: str) -> None:
    query = parse(f"cats {flag}")
    assert query.operators == {"keyword", name}
    assert parse(query.key).tree == query.tree


def test_lang_accepts_x_codes_and_iso_codes_with_a_region() -> None:
    for code in ("en", "zh-CN", "hi-Latn", "iw", "in", "und", "eo", "pt-BR", "ckb"):
        assert parse(f"cats lang:{code}").tree == And((kw("cats"), Operator("lang", code.lower())))


def test_operators_and_local_operators() -> None:
    query = parse("(#nyc OR @mayor) from:bob -is:retweet has:media lang:en bio:developer")
    assert query.operators == {"hashtag", "mention", "from", "is:retweet", "has:media", "lang", "bio"}
    assert query.unsupported(LOCAL_OPERATORS) == ["bio"]
    assert query.unsupported(LOCAL_OPERATORS - {"is:retweet", "mention"}) == ["bio", "is:retweet", "mention"]
    assert query.unsupported(frozenset()) == sorted(query.operators)


def test_local_operators_cover_design_section_2() -> None:
    assert {
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
    } <= LOCAL_OPERATORS
    assert {"is:retweet", "is:reply", "is:quote", "is:verified"} <= LOCAL_OPERATORS
    assert {"has:links", "has:media", "has:images", "has:videos", "has:mentions", "has:hashtags"} <= LOCAL_OPERATORS
    assert not {"bio", "place", "has:geo", "is:nullcast", "sample", "retweets_of"} & LOCAL_OPERATORS


# -- canonical keys --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "key"),
    [
        (["#NYC", "#nyc", "  #Nyc  ", "(#nyc)", "#nyc #NYC"], "#nyc"),
        (["Apple OR iPhone iPad", "apple OR (iphone ipad)", "(apple) OR ((iphone)  ipad)"], "apple OR iphone ipad"),
        (["(apple OR iphone) ipad", "( apple OR iphone )ipad"], "(apple OR iphone) ipad"),
        (['"Coca-Cola"', '"coca-cola"', '"  COCA-COLA "'], '"coca-cola"'),
        (['"social   Media"~5'], '"social media"~5'),
        (["$twtr", "$TWTR"], "$TWTR"),
        (["from:@Bob", "FROM:bob", 'from:"bob"'], "from:bob"),
        (['url:"https://x.com/a"', "url:https://x.com/a"], 'url:"https://x.com/a"'),
        (["url:x.com", 'url:"x.com"'], "url:x.com"),
        (["cats LANG:EN -IS:RETWEET has:videos"], "cats lang:en -is:retweet has:video_link"),
        (['bio:"data   Engineer"'], 'bio:"data engineer"'),
        (["point_radius:[2.3  48.8 16KM] x"], "point_radius:[2.3 48.8 16km] x"),
        (["x -(a OR b)"], "x -a -b"),
    ],
)
def test_queries_meaning_the_same_share_the_canonical_key(texts: list[str], key: str) -> None:
    assert {parse(text).key for text in texts} == {key}


def test_canonical_key_keeps_the_users_operand_order() -> None:
    assert parse("b a").key == "b a"
    assert parse("(z OR y) x").key == "(z OR y) x"


def test_key_parses_back_to_the_same_tree() -> None:
    for text in ["a OR b c", "(a OR b) c", "-a b", 'x "p q" "r s"~2 #h @m $C from:u to:v url:"w" lang:en is:reply']:
        query = parse(text)
        assert parse(query.key).tree == query.tree
        assert parse(query.key).key == query.key


def test_query_keeps_the_text_and_equals_by_key() -> None:
    first, second = parse("#NYC"), parse("#nyc")
    assert (first.text, second.text) == ("#NYC", "#nyc")
    assert first == second and hash(first) == hash(second)
    assert isinstance(first, Query)


def test_tree_is_immutable() -> None:
    tree = parse("a b").tree
    assert isinstance(tree, And)
    with pytest.raises(AttributeError):
        tree.children = ()  # type: ignore[misc]


# -- errors ----------------------------------------------------------------------------------------------------

AMBIGUOUS_OR = (
    'Ambiguous use of or as a keyword. Use OR to logically join two clauses, or "or" to find occurrences of or in text'
)
AMBIGUOUS_AND = 'Ambiguous use of and as a keyword. Use a space to logically join two clauses, or "and" to find occurrences of and in text'


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("cat or dog", AMBIGUOUS_OR, 5),
        ("(cat) or (dog)", AMBIGUOUS_OR, 7),
        ("humorous and film", AMBIGUOUS_AND, 10),
        ("-cat", "Rules must contain a non-negation term", 1),
        ("-cat -dog", "Rules must contain a non-negation term", 1),
        ("  -cat", "Rules must contain a non-negation term", 1),
        ("cat OR -dog", "Rules must contain a non-negation term", 8),
        ("-(cat dog)", "Rules must contain a non-negation term", 1),
        ("-is:nullcast", "Rules must contain a non-negation term", 1),
        ("(a", "Unbalanced parentheses: this '(' is never closed", 1),
        ("x (a (b)", "Unbalanced parentheses: this '(' is never closed", 3),
        ("a)", "Unbalanced parentheses: this ')' has no matching '('", 2),
        (") a", "Unbalanced parentheses: this ')' has no matching '('", 1),
        ("()", "Empty parentheses", 1),
        ('say "hello', 'Unterminated quoted phrase: the closing " is missing', 5),
        ('""', "Empty quoted phrase", 1),
        ("OR a", "OR needs a clause on each side", 1),
        ("a OR", "OR needs a clause on each side", 3),
        ("(a OR) b", "OR needs a clause on each side", 4),
        ("foo:bar", "Reference to invalid operator 'foo'", 1),
        ("cats is:polls", "Reference to invalid operator 'is:polls'", 6),
        ("cats has:polls", "Reference to invalid operator 'has:polls'", 6),
        ("https://x.com", "Reference to invalid operator 'https'", 1),
        ('"a b"~7', "A proximity distance must be from 1 to 6, not 7", 7),
        ('"a b"~0', "A proximity distance must be from 1 to 6, not 0", 7),
        ('"a b"~', 'A proximity needs a distance from 1 to 6 after ~, e.g. "social media"~5', 6),
        ('"a b"~x', 'A proximity needs a distance from 1 to 6 after ~, e.g. "social media"~5', 6),
        ('"a b"~3x', 'A proximity needs a distance from 1 to 6 after ~, e.g. "social media"~5', 6),
        ('"!!"~3', "A proximity needs words to match between its quotes", 1),
        (
            "cats lang:english",
            "Invalid value 'english' for lang: it takes a language code such as en, es, ja, pt or zh-cn",
            11,
        ),
        ("cats lang:12", "Invalid value '12' for lang: it takes a language code such as en, es, ja, pt or zh-cn", 11),
        ("cats sample:0", "Invalid value '0' for sample: it takes a percentage from 1 to 100", 13),
        ("cats sample:101", "Invalid value '101' for sample: it takes a percentage from 1 to 100", 13),
        ("from:", "from: needs a value, e.g. from:XDevelopers", 1),
        ("from:a,b", "Invalid value 'a,b' for from: it takes one username (without @) or numeric user id", 6),
        ("conversation_id:abc", "Invalid value 'abc' for conversation_id: it takes a numeric post id", 17),
        ("point_radius:2", "point_radius: takes its value in brackets, e.g. point_radius:[2.355128 48.861118 16km]", 1),
        ("x point_radius:[1 2", "Unterminated '[': the closing ] is missing", 16),
        ("from:[a]", "'[' is only used by point_radius:[...] and bounding_box:[...], not from:", 1),
        ("cats is:nullcast", "is:nullcast can only be used negated: write -is:nullcast", 6),
        ("cats -sample:10", "sample: cannot be negated", 6),
        ("- cats", "Nothing to exclude: write '-' right before the term to exclude, e.g. weather -snow", 1),
        ("cats -", "Nothing to exclude: write '-' right before the term to exclude, e.g. weather -snow", 6),
        ("--cats", "Double negation: use one '-' before the term to exclude", 1),
        ("x 'coca cola'", """Unexpected character "'": use double quotes for an exact phrase, e.g. "coca cola\"""", 3),
        ("[a]", """Unexpected character '[': use double quotes for an exact phrase, e.g. "coca cola\"""", 1),
        ("#", "'#' needs a hashtag after it, e.g. #nowplaying", 1),
        ("#c++", "'#c++' is not a valid #hashtag (letters, numbers and _ only)", 1),
        ("@", "'@' needs a username after it, e.g. @XDevelopers", 1),
        ("@a,", "'@a,' is not a valid @mention", 1),
        ("$A-", "'$A-' is not a valid $cashtag: a letter, then letters or digits, e.g. $TWTR", 1),
        ("x !!!", """'!!!' has no letters, numbers or emoji: put punctuation in a "quoted phrase\"""", 3),
        ("a\x00b", "Control character U+0000 is not allowed in a query", 2),
        ("a \x1b[31m", "Control character U+001B is not allowed in a query", 3),
        ("a\ud800", "Invalid character U+D800 (a lone surrogate)", 2),
        ("(" * 41 + "a" + ")" * 41, "Too many nested parentheses (more than 40)", 41),
    ],
)
def test_errors_say_what_and_where(text: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.message == message
    assert caught.value.position == position
    assert str(caught.value) == f"{message} (at position {position})"


@pytest.mark.parametrize(
    ("text", "operator", "position"),
    [
        ("has:media", "has:media", 1),
        ("has:links OR is:retweet", "has:links", 1),
        ("cats OR has:media", "has:media", 9),
        ("lang:en -cats", "lang", 1),
        ("(has:media OR has:links) -is:retweet", "has:media", 2),
        ("sample:10 -x", "sample", 1),
        ("has:geo", "has:geo", 1),
    ],
)
def test_conjunction_required_operator_alone_is_refused(text: str, operator: str, position: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.message.startswith(f"{operator} cannot be used as a standalone operator")
    assert caught.value.position == position


def test_conjunction_required_operators_in_a_group_next_to_a_standalone_term() -> None:
    query = parse('"X data" has:mentions (has:media OR has:links)')
    assert query.key == '"x data" has:mentions (has:media OR has:links)'


def test_empty_query_has_no_position() -> None:
    for text in ("", "   ", "\n\t"):
        with pytest.raises(QueryError) as caught:
            parse(text)
        assert caught.value.position is None
        assert str(caught.value) == caught.value.message


def test_too_long_says_the_limit_and_the_length() -> None:
    with pytest.raises(QueryError) as caught:
        parse("a" * 1025)
    assert caught.value.message == "The query is 1,025 characters long; rules are limited to 1,024 characters"
    assert parse("a" * 1024).key == "a" * 1024
    with pytest.raises(QueryError, match="limited to 512 characters"):
        parse("cats " * 103, max_length=512)


def test_query_error_is_a_value_error_and_pickles() -> None:
    error = QueryError("bad", 3)
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.position, str(copy)) == ("bad", 3, "bad (at position 3)")
    assert str(QueryError("whole", None)) == "whole"


def test_whitespace_controls_are_spaces() -> None:
    assert parse("a\tb\r\nc").key == "a b c"


def test_upper_case_or_inside_a_phrase_is_a_word() -> None:
    assert parse('"this OR that" or_else').key == '"this or that" or_else'
