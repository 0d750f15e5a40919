"""Quote extraction, anchoring and re-anchoring (bot/core/quotes.py)."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.quotes import (
    CONTEXT_CHARS,
    DEFAULT_MIN_SCORE,
    QuoteSelector,
    anchor,
    choice_index,
    extract_quoted_passages,
    normalise_for_matching,
    reanchor,
    selector_at,
    sentence_choices,
)
from bot.core.text import sentence_spans, split_sentences
from tests.unit.article_fixture import LONDON_ARTICLE, LOOKALIKE_SENTENCES

A = LONDON_ARTICLE


def _span_of(text: str, article: str = A, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = article.index(text, start + 1)
    return start, start + len(text)


# --------------------------------------------------------------------------- extract


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("> one line\nmy comment", ["one line"]),
        ("> first\n> second\ncomment\n> third", ["first\nsecond", "third"]),
        ("comment\n>>> block\nquote\n\n> still block", ["block\nquote\n\n> still block"]),
        ("> a\n>>> rest of\nmessage", ["a", "rest of\nmessage"]),
        ("  > indented\n", ["indented"]),
        (">no space is not a quote", []),
        ("> \n>    \ntext", []),
        ("> para one\n>\n> para two", ["para one\n\npara two"]),
        ("```\n> in code\n```\n> real", ["real"]),
        ("a > b is not a quote", []),
        ("> quoted\r\n> crlf\r\nreply", ["quoted\ncrlf"]),
        ("", []),
    ],
)
def test_extract_quoted_passages(message: str, expected: list[str]) -> None:
    assert extract_quoted_passages(message) == expected


# --------------------------------------------------------------------------- anchor


def _assert_points_at(result, start: int, end: int, tolerance: int = 0) -> None:
    assert result.state == "anchored", result
    sel = result.selector
    assert sel is not None
    assert abs(sel.start - start) <= tolerance and abs(sel.end - end) <= tolerance, (
        A[sel.start : sel.end],
        A[start:end],
    )
    assert A[sel.start : sel.end] == sel.exact
    assert sel.prefix == A[max(0, sel.start - CONTEXT_CHARS) : sel.start]
    assert sel.suffix == A[sel.end : sel.end + CONTEXT_CHARS]


def test_exact_match_gives_offsets_and_context() -> None:
    passage = "there are no safe havens for cyber criminals"
    result = anchor(passage, A)
    _assert_points_at(result, *_span_of(passage))
    assert result.score == 1.0
    assert result.occurrences == 1
    assert len(result.selector.prefix) == CONTEXT_CHARS


@pytest.mark.parametrize(
    ("passage", "original"),
    [
        # straight quotes for curly ones, case, different spacing
        (
            'known as the "24/7 network" as the best means',
            "known as the “24/7 Network” as the best means",
        ),
        # a non-breaking space and double space in the article, newline in the quote
        (
            "also unacceptable online. As was pointed\nout in the London Cyber Youth",
            "also unacceptable online.  As was pointed out in the London Cyber Youth",
        ),
        # dash, apostrophe and punctuation differences
        (
            "private companies and individuals as well as governments and law enforcement "
            "agencies - have responsibilities",
            "private companies and individuals as well as governments and law enforcement "
            "agencies – have responsibilities",
        ),
        (
            "The Convention's usefulness as a framework",
            "The Convention’s usefulness as a framework",
        ),
        ("social well being", "social well-being"),
    ],
)
def test_normalised_match_returns_original_text(passage: str, original: str) -> None:
    original = original.replace("online.  As", "online. \xa0As")
    result = anchor(passage, A)
    _assert_points_at(result, *_span_of(original))
    assert result.selector.exact == original


TYPO_CASES = [
    # (passage as typed, the article text it means)
    (
        "all delegates strongly suported the principle that we must work colectively",
        "all delegates strongly supported the principle that we must work collectively",
    ),
    (
        "Some delegates raised problms with the Convetion.",
        "Some delegates raised problems with the Convention.",
    ),
    (
        "There was little suport for negotiating a new instrument",
        "there was little support for negotiating a new instrument",
    ),
    (
        "the forensic resouces, processes and willingess to co-operate",
        "the forensic resources, processes and willingness to co-operate",
    ),
    ("Industry must be a prat of the solution", "Industry must be a part of the solution"),
    ("countries to join the 24/7 Netwrok", "countries to join the 24/7 Network"),
    (
        "governments need to lead byexample, and that when",  # merged words
        "governments need to lead by example, and that when",
    ),
    (
        "secruity is one of the key critera",
        "security is one of the key criteria",
    ),
]


@pytest.mark.parametrize(("typed", "meant"), TYPO_CASES)
def test_fuzzy_match_tolerates_one_or_two_typos(typed: str, meant: str) -> None:
    result = anchor(typed, A)
    _assert_points_at(result, *_span_of(meant))
    assert DEFAULT_MIN_SCORE <= result.score <= 1.0


def test_typo_scores_keep_a_margin_above_the_threshold() -> None:
    """Justifies the threshold from below: realistic typos stay well above it."""
    scores = [anchor(typed, A).score for typed, _ in TYPO_CASES]
    assert min(scores) >= DEFAULT_MIN_SCORE + 0.03, scores


def test_partial_quote_of_a_sentence_with_a_typo() -> None:
    result = anchor("willingness to act when caled upon", A)
    _assert_points_at(result, *_span_of("willingness to act when called upon"))


@pytest.mark.parametrize("sentence", LOOKALIKE_SENTENCES)
def test_lookalike_from_a_different_text_is_not_anchored(sentence: str) -> None:
    result = anchor(sentence, A)
    assert result.state == "unanchored"
    assert result.selector is None


def test_lookalike_scores_keep_a_margin_below_the_threshold() -> None:
    """Justifies the threshold from above: same-theme sentences score far below it."""
    from bot.core.quotes import _fuzzy_candidates, _normalised

    norm = _normalised(A).text
    best = [
        max((c[2] for c in _fuzzy_candidates(norm, normalise_for_matching(s))), default=0.0)
        for s in LOOKALIKE_SENTENCES
    ]
    assert max(best) <= DEFAULT_MIN_SCORE - 0.08, best


@pytest.mark.parametrize(
    "passage",
    [
        "There was broad backing for rules on fighting online fraud in Europe",
        "Delegates called on all states to join the network",
        "The quick brown fox jumps over the lazy dog",
        "lorem ipsum dolor sit amet consectetur adipiscing",
    ],
)
def test_below_threshold_is_unanchored(passage: str) -> None:
    result = anchor(passage, A)
    assert result.state == "unanchored"
    assert result.score < DEFAULT_MIN_SCORE


def test_min_score_is_respected() -> None:
    typed, meant = TYPO_CASES[1]
    assert anchor(typed, A, min_score=0.999).state == "unanchored"
    assert anchor(typed, A, min_score=0.5).state == "anchored"


def test_short_passages_need_an_exact_unique_match() -> None:
    unique = anchor("Model Law", A)
    _assert_points_at(unique, *_span_of("Model Law"))
    assert anchor("Modle Law", A).state == "unanchored"  # short: no fuzzy
    repeated = anchor("cyber crime", A)  # many occurrences
    assert repeated.state == "unanchored"
    assert repeated.occurrences > 1
    assert anchor("", A).state == "unanchored"
    assert anchor("  ... ", A).state == "unanchored"


def test_short_repeated_passage_placed_by_hint() -> None:
    start, end = _span_of("cyber crime", occurrence=3)
    hint = selector_at(A, start, end)
    result = anchor("Cyber Crime", A, hint=hint)
    _assert_points_at(result, start, end)


def test_repeated_phrase_first_occurrence_without_hint_and_hint_disambiguates() -> None:
    phrase = "The conference identified cyber crime as a significant threat"
    first = _span_of(phrase, occurrence=0)
    second = _span_of(phrase, occurrence=1)
    plain = anchor(phrase, A)
    _assert_points_at(plain, *first)
    assert plain.occurrences == 2
    # the hint carries the context of the second occurrence (after a blank line)
    hint = selector_at(A, *second)
    _assert_points_at(anchor(phrase, A, hint=hint), *second)


def test_anchor_offsets_survive_unicode_and_nbsp() -> None:
    article = "Intro: Ça va?\xa0Le «café» coûte 3 €. İstanbul ﬁles: straße and more words here."
    result = anchor("le cafe coute 3", article)
    assert result.state == "anchored"
    assert result.selector.exact == "Le «café» coûte 3"
    result = anchor("İstanbul ﬁles: straße and more", article)
    assert result.selector.exact == "İstanbul ﬁles: straße and more"


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_property_any_word_span_of_the_article_anchors_to_its_own_text(data) -> None:
    words = [(m.start(), m.end()) for m in __import__("re").finditer(r"\S+", A)]
    i = data.draw(st.integers(0, len(words) - 4))
    j = data.draw(st.integers(i + 3, min(len(words) - 1, i + 40)))
    start, end = words[i][0], words[j][1]
    passage = A[start:end]
    assume(len(normalise_for_matching(passage)) >= 12)
    result = anchor(passage, A)
    assert result.state == "anchored"
    assert normalise_for_matching(result.selector.exact) == normalise_for_matching(passage)
    if result.occurrences == 1:
        assert A[result.selector.start : result.selector.end] == result.selector.exact


# --------------------------------------------------------------------------- reanchor

QUOTED = "the best means to make sure that when urgent assistance is required"


def _stored() -> QuoteSelector:
    return anchor(QUOTED, A).selector


def test_reanchor_unchanged_is_anchored() -> None:
    sel = _stored()
    result = reanchor(sel, A)
    assert result.state == "anchored"
    assert result.selector == sel
    assert result.score == 1.0


def test_reanchor_text_inserted_before_is_moved_with_new_offsets() -> None:
    sel = _stored()
    insert = "A new opening paragraph, added by the organisers.\n\n"
    new = insert + A
    result = reanchor(sel, new)
    assert result.state == "moved"
    assert result.selector.start == sel.start + len(insert)
    assert new[result.selector.start : result.selector.end] == sel.exact
    assert result.selector.exact == sel.exact
    assert result.score == 1.0


def test_reanchor_text_edited_after_keeps_anchor() -> None:
    sel = _stored()
    new = A + "\n\nAn added closing paragraph."
    assert reanchor(sel, new).state == "anchored"


def test_reanchor_deleted_passage_is_orphaned() -> None:
    sel = _stored()
    paragraph_start = A.index("Speakers pointed to the network")
    paragraph_end = A.index("As well as law enforcement")
    new = A[:paragraph_start] + A[paragraph_end:]
    result = reanchor(sel, new)
    assert result.state == "orphaned"
    assert result.selector is None


def test_reanchor_replaced_by_a_lookalike_is_orphaned() -> None:
    sel = anchor("Delegates called on all countries to join the 24/7 Network", A).selector
    new = A.replace(
        "Delegates called on all countries to join the 24/7 Network and to redouble efforts "
        "and commitment to make it a success.",
        LOOKALIKE_SENTENCES[3],
    )
    assert new != A
    assert reanchor(sel, new).state == "orphaned"


def test_reanchor_slightly_edited_passage_is_moved() -> None:
    sel = _stored()
    new = "Preface.\n" + A.replace("urgent assistance is required", "urgent assistance is needed")
    result = reanchor(sel, new)
    assert result.state == "moved"
    assert DEFAULT_MIN_SCORE <= result.score < 1.0
    assert result.selector.exact == QUOTED.replace("required", "needed")
    assert new[result.selector.start : result.selector.end] == result.selector.exact


def test_reanchor_heavily_rewritten_passage_is_orphaned() -> None:
    sel = _stored()
    new = A.replace("urgent assistance is required", "urgent help is needed").replace(
        "the best means", "the best way"
    )
    result = reanchor(sel, new)
    assert result.state == "orphaned"
    assert result.score < DEFAULT_MIN_SCORE


def test_reanchor_typo_fixed_in_place_is_moved() -> None:
    sel = _stored()
    new = A.replace("make sure that when", "make sure that, when")
    result = reanchor(sel, new)
    assert result.state == "moved"
    assert result.score == 1.0  # same words, punctuation only
    assert result.selector.exact == QUOTED.replace("sure that", "sure that,")


def test_reanchor_repeated_text_uses_prefix_and_suffix() -> None:
    phrase = "The conference identified cyber crime as a significant threat"
    second = _span_of(phrase, occurrence=1)
    sel = selector_at(A, *second)
    # text inserted at the top shifts both occurrences; the stored offsets now point at
    # neither, and the first occurrence is nearer the old offset than the second
    insert = "x" * 40 + "\n"
    new = insert + A
    result = reanchor(sel, new)
    assert result.state == "moved"
    assert result.selector.start == second[0] + len(insert)


def test_reanchor_repeated_text_ambiguous_prefers_nearest_old_position() -> None:
    article = "alpha beta gamma delta. " * 3
    sel = selector_at(article, 24, 24 + len("alpha beta gamma delta."))
    new = "zz " + article
    result = reanchor(sel, new)
    assert result.state == "moved"
    assert result.selector.start == 27  # the same (second) occurrence, not the first


def test_reanchor_whitespace_change_is_moved_not_orphaned() -> None:
    sel = _stored()
    new = A.replace("urgent assistance", "urgent\n  assistance")
    result = reanchor(sel, new)
    assert result.state == "moved"
    assert result.score == 1.0


def test_reanchor_short_passage_only_exact() -> None:
    sel = anchor("Model Law", A).selector
    assert reanchor(sel, A.replace("Model Law", "Modle Law")).state == "orphaned"
    assert reanchor(sel, "Intro. " + A).state == "moved"


def test_reanchor_on_empty_article_is_orphaned() -> None:
    assert reanchor(_stored(), "").state == "orphaned"


def test_selector_validation() -> None:
    with pytest.raises(ValidationError):
        QuoteSelector(exact="x", start=5, end=2)
    with pytest.raises(ValueError):
        selector_at("abc", 2, 10)


# --------------------------------------------------------------------------- speed


def _big_article(size: int = 60_000) -> str:
    rnd = random.Random(7)
    vocab = sorted(set(A.split()))
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < size:
        paragraphs.append(" ".join(rnd.choice(vocab) for _ in range(rnd.randint(40, 120))) + ".")
    return "\n\n".join(paragraphs)[:size]


def test_performance_sanity_large_article() -> None:
    """A 60,000-character article and a 300-character passage (no timing assert: the
    timings are printed with ``-s``; they are a few milliseconds)."""
    big = _big_article()
    start = big.index(" ", 31_000) + 1
    end = big.rindex(" ", start, start + 300)
    passage = big[start:end]
    typed = passage[:60] + "q" + passage[61:200] + passage[201:]
    t0 = time.perf_counter()
    exact = anchor(passage, big)
    fuzzy = anchor(typed, big)
    missing = anchor(LOOKALIKE_SENTENCES[2] + " " + LOOKALIKE_SENTENCES[4], big)
    moved = reanchor(fuzzy.selector, "Preface.\n" + big.replace(passage[100:110], "CHANGED"))
    elapsed = time.perf_counter() - t0
    print(f"4 operations on a 60k article: {elapsed * 1000:.1f} ms")
    assert exact.state == "anchored" and exact.selector.start == start
    assert fuzzy.state == "anchored" and abs(fuzzy.selector.start - start) <= 1
    assert missing.state == "unanchored"
    assert moved.state == "moved"


# --------------------------------------------------------------------------- sentences


def test_split_sentences_of_the_article() -> None:
    sentences = split_sentences(A)
    assert sentences[0] == "4. Tackling cyber crime"
    assert (
        "There was general support for the principles for fighting online crime that are "
        "set out in the Budapest Convention on Cybercrime." in sentences
    )
    assert all(s == s.strip() and s for s in sentences)
    for (start, end), text in zip(sentence_spans(A), sentences, strict=True):
        assert A[start:end] == text
    assert len(sentences) == 26


def test_split_sentences_keeps_abbreviations() -> None:
    text = "Dr. Smith met e.g. the U.K. delegates. They agreed!\nNext line"
    assert split_sentences(text) == [
        "Dr. Smith met e.g. the U.K. delegates.",
        "They agreed!",
        "Next line",
    ]


def test_sentence_choices_empty_query_lists_the_first_sentences() -> None:
    sentences = split_sentences(A)
    choices = sentence_choices(sentences, "")
    assert len(choices) == 25
    assert choices[0] == ("4. Tackling cyber crime", "s0")
    assert all(1 <= len(name) <= 100 for name, _ in choices)


def test_sentence_choices_rank_prefix_matches_first() -> None:
    sentences = [
        "Delegates noted that the convention matters.",
        "Many delegates encouraged countries.",
        "The convention was discussed by delegates.",
        "Nothing relevant here.",
    ]
    choices = sentence_choices(sentences, "DELEG")
    assert [v for _, v in choices] == ["s0", "s1", "s2"]
    assert sentence_choices(sentences, "convention delegates") == [
        ("Delegates noted that the convention matters.", "s0"),
        ("The convention was discussed by delegates.", "s2"),
    ]
    assert sentence_choices(sentences, "zzz") == []
    assert len(sentence_choices(sentences, "", limit=2)) == 2


def test_sentence_choices_shorten_long_sentences_around_the_match() -> None:
    sentences = split_sentences(A)
    long_first = sentence_choices(sentences, "As online criminals")
    name, value = long_first[0]
    assert len(name) <= 100 and name.endswith("…")
    assert name.startswith("As online criminals")
    idx = choice_index(value)
    assert sentences[idx].startswith("As online criminals")
    deep = sentence_choices(sentences, "no safe havens")
    name, value = deep[0]
    assert len(name) <= 100
    assert "no safe havens" in name
    assert name.startswith("…")


def test_choice_index() -> None:
    assert choice_index("s12") == 12
    assert choice_index("12") is None
    assert choice_index("sx") is None
