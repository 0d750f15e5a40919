"""Agenda file format and validation (bot.core.agenda), Discord names (bot.core.naming),
article rendering (bot.core.article) and sentences (bot.core.text)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.agenda import AgendaInvalid, AgendaItemSpec, AgendaProblem, AgendaSpec, load_agenda
from bot.core.article import (
    EMBED_DESCRIPTION_MAX,
    EMBED_FOOTER_MAX,
    EMBED_TITLE_MAX,
    MESSAGE_EMBED_CHARS_MAX,
    MESSAGE_EMBEDS_MAX,
    ArticlePart,
    article_body_from_parts,
    fingerprint,
    render_article,
)
from bot.core.naming import channel_name, slugify, thread_name
from bot.core.text import discord_len, sentences

ROOT = Path(__file__).resolve().parents[2]
LONDON = ROOT / "data" / "agendas" / "london-2011.toml"
SEED = Path("/work/shared/seed/000_e2937166bc3f6683.txt")

FIRST_PARAGRAPH = (
    "The conference identified cyber crime as a significant threat to economic and social "
    "well-being, and one which requires a concerted and urgent international effort."
)
LAST_PARAGRAPH = (
    "Speakers noted that all Governments are currently looking to place more services online, "
    "and that many are considering outsourcing to cloud computing. It was agreed that "
    "governments need to lead by example, and that when governments procure and provide "
    "online services, security is one of the key criteria."
)


def problems_of(source: str, **kwargs) -> list[AgendaProblem]:
    with pytest.raises(AgendaInvalid) as info:
        load_agenda(source, **kwargs)
    assert info.value.problems, "AgendaInvalid must carry its problems"
    return info.value.problems


def only_problem(source: str, **kwargs) -> AgendaProblem:
    problems = problems_of(source, **kwargs)
    assert len(problems) == 1, [p.format() for p in problems]
    return problems[0]


def agenda(*items: str, head: str = '[consultation]\ntitle = "T"\n') -> str:
    return head + "\n".join(items)


def item(title: str = "A", summation: str = "S", extra: str = "", header="[[items]]") -> str:
    return f'{header}\ntitle = "{title}"\nsummation = "{summation}"\n{extra}\n'


# --------------------------------------------------------------------------- London agenda


@pytest.fixture(scope="module")
def london() -> AgendaSpec:
    return load_agenda(LONDON)


def test_london_agenda_loads_in_order(london: AgendaSpec):
    assert london.title == "The London Agenda"
    assert london.description.startswith("London Conference on Cyberspace 2011")
    assert [i.title for i in london.items] == [
        "1. Economic growth and development",
        "2. Social benefits",
        "3. International security",
        "4. Tackling cyber crime",
        "5. Safe and reliable access",
        "Foreign Office's 7 principles",
        "Messages for governments",
    ]
    for i in london.items:
        assert 0 < len(i.summation) <= 500 and i.body and i.closes_at is None


def test_london_item_4_carries_the_seed_article(london: AgendaSpec):
    crime = london.get("tackling-cyber-crime")
    assert crime is london.items[3]
    assert crime.summation == FIRST_PARAGRAPH
    paragraphs = crime.body.split("\n\n")
    assert len(paragraphs) == 9
    assert paragraphs[0].startswith(FIRST_PARAGRAPH + " As online criminals")
    assert paragraphs[-1] == LAST_PARAGRAPH
    for mark in ("Convention’s", "“24/7 Network”", "agencies – have", "industry’s"):
        assert mark in crime.body  # the seed's typography is kept
    assert [s.title for s in crime.items] == [
        "Work collectively to ensure no safe havens for cyber criminals",
        "Legislation must be supported by a willingness to act",
        "Responsibility to prevent applies across all sectors",
        "Support for the Budapest Convention on Cybercrime",
        "What is unacceptable offline is also unacceptable online",
    ]
    for sub in crime.items:
        assert sub.summation in sub.body
        for sentence in sentences(sub.body):  # sub-item text is drawn from the article
            assert sentence in " ".join(crime.body.split())
    assert "tackling-cyber-crime" in london.get("international-security").related
    assert "international-security" in crime.related


@pytest.mark.skipif(not SEED.exists(), reason="seed page not available")
def test_london_item_4_body_equals_the_seed_paragraphs(london: AgendaSpec):
    lines = SEED.read_text(encoding="utf-8").split("\n")
    # The web page separates some sentences with " \u00a0"; the agenda uses one space.
    seed = [re.sub(" \u00a0", " ", lines[i]).rstrip(" \u00a0") for i in range(5, 22, 2)]
    assert london.items[3].body == "\n\n".join(seed)
    assert london.items[3].summation == lines[2]


def test_london_walk_order_and_parents(london: AgendaSpec):
    walked = list(london.walk())
    assert len(walked) == 12
    assert [parent for _p, _i, parent in walked].count("tackling-cyber-crime") == 5
    path, sub, parent = walked[5]
    assert parent == "tackling-cyber-crime"
    assert path.startswith("item 4 '4. Tackling cyber crime' › sub-item 2 'Legislation")
    assert sub.key == "willingness-to-act"
    assert london.keys()[:4] == [
        "economic-growth-and-development",
        "social-benefits",
        "international-security",
        "tackling-cyber-crime",
    ]
    assert len(set(london.keys())) == 12


def test_london_articles_render_within_limits(london: AgendaSpec):
    for _path, i, _parent in london.walk():
        parts = render_article(i.title, i.summation, i.body)
        assert_within_discord_limits(parts)
        assert article_body_from_parts(parts) == i.body


# --------------------------------------------------------------------------- the format


def test_minimal_agenda_and_defaults():
    spec = load_agenda(agenda(item("4. Tackling cyber crime")))
    (only,) = spec.items
    assert only.key == "4-tackling-cyber-crime"
    assert only.body == "" and only.related == [] and only.items == []
    assert spec.description == ""


def test_body_as_multiline_literal_is_trimmed_but_exact_inside():
    body = "'''\n# Heading\n\nC:\\path with \\backslash and \"quotes\"\n\n    indented code\n'''"
    spec = load_agenda(agenda(item(extra=f"body = {body}")))
    assert spec.items[0].body == (
        '# Heading\n\nC:\\path with \\backslash and "quotes"\n\n    indented code'
    )


def test_bytes_source_with_bom_and_crlf():
    text = agenda(item(extra="body = '''\r\nline one\r\n\r\nline two\r\n'''"))
    spec = load_agenda(("\ufeff" + text).encode("utf-8"))
    assert spec.items[0].body == "line one\n\nline two"


def test_body_file_resolved_relative_to_agenda_file(tmp_path: Path):
    (tmp_path / "bodies").mkdir()
    (tmp_path / "bodies" / "one.md").write_text("From a file.\n\nSecond.\n", encoding="utf-8")
    path = tmp_path / "agenda.toml"
    path.write_text(agenda(item(extra='body_file = "bodies/one.md"')), encoding="utf-8")
    assert load_agenda(path).items[0].body == "From a file.\n\nSecond."
    # and with text + an explicit base_dir
    text = path.read_text(encoding="utf-8")
    assert load_agenda(text, base_dir=tmp_path).items[0].body == "From a file.\n\nSecond."


def test_body_file_problems(tmp_path: Path):
    (tmp_path / "secret.env").write_text("TOKEN=x", encoding="utf-8")
    inner = tmp_path / "agendas"
    inner.mkdir()
    source = agenda(
        item("Missing", extra='body_file = "nope.md"'),
        item("Escape", extra='body_file = "../secret.env"'),
        item("Both", extra="body = 'x'\nbody_file = \"a.md\""),
    )
    problems = problems_of(source, base_dir=inner)
    assert [(p.location, p.field) for p in problems] == [
        ("item 1 'Missing' (line 3)", "body_file"),
        ("item 2 'Escape' (line 8)", "body_file"),
        ("item 3 'Both' (line 13)", "body"),
    ]
    assert "was not found" in problems[0].message and "nope.md" in problems[0].message
    assert "inside the agenda's folder" in problems[1].message
    assert "either body or body_file" in problems[2].message
    # Text from a Discord attachment has no folder: body_file cannot read server files.
    p = only_problem(agenda(item(extra='body_file = "../secret.env"')))
    assert p.field == "body_file" and "paste the text into body" in p.message


def test_closes_at_forms():
    spec = load_agenda(
        agenda(
            item("A", extra="closes_at = 2026-12-31T17:00:00Z"),
            item("B", extra='closes_at = "2026-12-31T18:00:00+01:00"'),
            item("C", extra="closes_at = 2026-12-31T12:00:00-05:00"),
        )
    )
    expected = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert [i.closes_at for i in spec.items] == [expected] * 3
    assert all(i.closes_at.utcoffset() == timedelta(0) for i in spec.items)


def test_closes_at_problems():
    problems = problems_of(
        agenda(
            item("Naive", extra="closes_at = 2026-12-31T17:00:00"),
            item("Naive text", extra='closes_at = "2026-12-31 17:00"'),
            item("Date", extra="closes_at = 2026-12-31"),
            item("Junk", extra='closes_at = "next friday"'),
            item("Number", extra="closes_at = 5"),
        )
    )
    assert [p.field for p in problems] == ["closes_at"] * 5
    assert "no timezone" in problems[0].message and "2026-12-31T17:00:00Z" in problems[0].message
    assert "no timezone" in problems[1].message
    assert "without a time" in problems[2].message
    assert "2026-12-31T17:00:00Z" in problems[3].message
    assert "not a whole number" in problems[4].message


def test_limits_at_the_boundary():
    ok = load_agenda(agenda(item("T" * 100, "s" * 500)))
    assert len(ok.items[0].title) == 100 and len(ok.items[0].summation) == 500
    problems = problems_of(agenda(item("T" * 101, "s" * 501)))
    assert [p.field for p in problems] == ["title", "summation"]
    assert problems[0].message == "title is 101 characters; the limit is 100 — shorten it by 1"
    assert problems[1].message == (
        "summation is 501 characters; the limit is 500 — shorten it by 1"
    )


def test_summation_message_says_how_much_to_cut():
    p = only_problem(agenda(item(summation="x" * 612)))
    assert p.message == "summation is 612 characters; the limit is 500 — shorten it by 112"
    assert p.location == "item 1 'A' (line 3)"


def test_syntax_error_has_line_and_column():
    p = only_problem('[consultation]\ntitle = "T"\n[[items]]\ntitle = "unclosed\nsummation = "x"\n')
    assert p.location == "line 4, column 18"
    assert p.message.startswith("TOML syntax error:")
    assert "'''" in p.message  # points at the multi-line string syntax


def test_field_given_twice_is_located():
    p = only_problem(agenda(item(extra='title = "again"')))
    assert p.location == "line 6"
    assert "'title' is given twice in [items] (first on line 4)" in p.message


def test_every_problem_is_reported_at_once():
    source = """\
[consultation]
titel = "The Agenda"

[[items]]
title = "Alpha"
sumation = "typo"
related = ["alpha", "gamma", "betta", "beta", "beta"]

[[items]]
title = "Beta"
summation = "x"
body = 42

  [[items.items]]
  title = "Beta one"
  summation = "y"

    [[items.items.items]]
    title = "Too deep"
    summation = "z"

[[items]]
key = "alpha"
title = ""
summation = ""
related = "beta"

[[items]]
key = "Bad Key!"
title = "Delta"
summation = "ok"
closes_at = 2030-01-01T00:00:00
"""
    with pytest.raises(AgendaInvalid) as info:
        load_agenda(source)
    got = [(p.location, p.field) for p in info.value.problems]
    assert got == [
        ("[consultation]", "titel"),
        ("[consultation]", "title"),
        ("item 1 'Alpha' (line 4)", "sumation"),
        ("item 1 'Alpha' (line 4)", "summation"),
        ("item 2 'Beta' (line 9)", "body"),
        ("item 2 'Beta' › sub-item 1 'Beta one' (line 14)", "items"),
        ("item 3 (line 22)", "title"),
        ("item 3 (line 22)", "summation"),
        ("item 3 (line 22)", "related"),
        ("item 4 'Delta' (line 28)", "key"),
        ("item 4 'Delta' (line 28)", "closes_at"),
        ("item 3 (line 22)", "key"),
        ("item 1 'Alpha' (line 4)", "related"),
        ("item 1 'Alpha' (line 4)", "related"),
        ("item 1 'Alpha' (line 4)", "related"),
        ("item 1 'Alpha' (line 4)", "related"),
    ]
    msgs = [p.message for p in info.value.problems]
    assert "did you mean 'title'?" in msgs[0]
    assert "title is missing" in msgs[1]
    assert "did you mean 'summation'?" in msgs[2]
    assert "summation is missing" in msgs[3]
    assert msgs[4] == "body must be text in quotes, not a whole number"
    assert "sub-items cannot have sub-items" in msgs[5] and "thread" in msgs[5]
    assert "title is empty" in msgs[6] and "summation is empty" in msgs[7]
    assert "related must be a list" in msgs[8] and "['beta']" in msgs[8]
    assert "lowercase letters, digits and single hyphens" in msgs[9] and "'bad-key'" in msgs[9]
    assert "no timezone" in msgs[10]
    assert "key 'alpha' is already used by item 1 'Alpha' (line 4)" in msgs[11]
    assert msgs[12] == "the item lists itself ('alpha') as related; remove it"
    assert msgs[13].startswith("'gamma' is not the key of any item")
    assert "did you mean 'beta'?" in msgs[14]
    assert msgs[15] == "'beta' is listed twice in related; remove one"

    text = info.value.format()
    lines = text.splitlines()
    assert lines[0] == "The agenda has 16 problems:"
    assert len(lines) == 17
    assert lines[1] == (
        "- [consultation] › titel: unknown field 'titel' — did you mean 'title'? "
        "(allowed here: title, description, opens_at, closes_at, reminders, layout)"
    )
    assert str(info.value) == text


def test_layout():
    assert load_agenda(agenda(item())).layout == "channels"
    head = '[consultation]\ntitle = "T"\nlayout = "forum"\n'
    assert load_agenda(agenda(item(), head=head)).layout == "forum"
    problem = only_problem(agenda(item(), head=head.replace('"forum"', '"forums"')))
    assert (problem.location, problem.field) == ("[consultation]", "layout")
    assert "did you mean 'forum'?" in problem.message and 'layout = "channels"' in problem.message
    problem = only_problem(agenda(item(), head=head.replace('"forum"', "3")))
    assert "must be text in quotes" in problem.message


def test_helpful_hints_for_plausible_wrong_names():
    problems = problems_of(agenda(item(extra='description = "d"\ndeadline = "x"\n')))
    assert [p.field for p in problems] == ["description", "deadline"]
    assert "use summation" in problems[0].message
    assert "use closes_at" in problems[1].message


def test_unknown_top_level_table():
    p = only_problem(agenda(item(), "[consultaton]\nx = 1\n"))
    assert (p.location, p.field) == ("agenda", "consultaton")
    assert "did you mean 'consultation'?" in p.message


def test_empty_agenda_and_missing_consultation():
    p = only_problem('[consultation]\ntitle = "Nothing yet"\n')
    assert (p.location, p.field) == ("agenda", "items")
    assert "no items" in p.message and "[[items]]" in p.message
    assert len(problems_of("")) == 2
    p = only_problem(item())
    assert p.field == "consultation" and "[consultation]" in p.message
    p = only_problem('items = []\n[consultation]\ntitle = "T"\n')
    assert (p.location, p.field) == ("agenda", "items")
    # items written under [consultation] are part of that table: say so
    p = problems_of('[consultation]\ntitle = "T"\nitems = []\n')[0]
    assert (p.location, p.field) == ("[consultation]", "items")
    assert "[[items]] tables" in p.message


def test_derived_keys_can_clash():
    problems = problems_of(agenda(item("Cyber crime"), item("Cyber-crime!")))
    assert [(p.location, p.field) for p in problems] == [("item 2 'Cyber-crime!' (line 8)", "key")]
    assert "key 'cyber-crime' is already used by item 1 'Cyber crime'" in problems[0].message


def test_related_can_point_anywhere_in_the_agenda():
    spec = load_agenda(
        agenda(
            item("One", extra='related = ["two-b"]'),
            item("Two", extra='related = ["one"]'),
            item("Two b", header="[[items.items]]", extra='related = ["two"]'),
        )
    )
    assert spec.items[0].related == ["two-b"]
    assert spec.items[1].items[0].key == "two-b"
    assert spec.get("two-b").related == ["two"]
    assert spec.get("missing") is None


def test_inline_tables_get_locations_without_lines():
    source = 'items = [{title = "A", summation = ""}]\n[consultation]\ntitle = "T"\n'
    p = only_problem(source)
    assert p.location == "item 1 'A'" and p.field == "summation"


def test_header_lookalike_inside_a_body_does_not_shift_line_numbers():
    body = "body = '''\n[[items]]\nnot a header\n'''"
    p = only_problem(agenda(item("A", extra=body), item("B", summation="")))
    assert p.location == "item 2 'B' (line 11)"


def test_too_many_items_for_a_category():
    p = only_problem(agenda(*(item(f"Item {n}") for n in range(51))))
    assert p.location == "agenda" and "at most 50 channels" in p.message
    assert "remove 1" in p.message


def test_models_validate_on_their_own():
    with pytest.raises(ValidationError, match="summation is 501 characters"):
        AgendaItemSpec(title="x", summation="s" * 501)
    with pytest.raises(ValidationError, match="no timezone"):
        AgendaItemSpec(title="x", summation="s", closes_at=datetime(2030, 1, 1))
    with pytest.raises(ValidationError, match="already used"):
        AgendaSpec(
            title="T",
            items=[
                AgendaItemSpec(title="Same", summation="s"),
                {"title": "Same", "summation": "t"},
            ],
        )
    with pytest.raises(ValidationError, match="sub-items cannot have sub-items"):
        AgendaSpec(
            title="T",
            items=[
                {
                    "title": "a",
                    "summation": "s",
                    "items": [
                        {
                            "title": "b",
                            "summation": "s",
                            "items": [{"title": "c", "summation": "s"}],
                        }
                    ],
                }
            ],
        )
    with pytest.raises(ValidationError, match="extra"):
        AgendaItemSpec(title="x", summation="s", sumation="typo")
    spec = AgendaSpec(title=" T ", items=[AgendaItemSpec(title=" Hello world ", summation="s")])
    assert spec.title == "T" and spec.items[0].key == "hello-world"


def test_unreadable_or_non_utf8_sources(tmp_path: Path):
    p = only_problem(b'[consultation]\ntitle = "\xff"\n')
    assert p.location == "line 2" and "UTF-8" in p.message
    with pytest.raises(AgendaInvalid, match="cannot read"):
        load_agenda(tmp_path / "missing.toml")


# --------------------------------------------------------------------------- names

CHANNEL_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def test_channel_names():
    assert channel_name(4, "4. Tackling cyber crime") == "04-tackling-cyber-crime"
    assert channel_name(5, "5 Safe and reliable access") == "05-safe-and-reliable-access"
    assert channel_name(6, "Foreign Office's 7 principles") == "06-foreign-offices-7-principles"
    assert channel_name(1, "2011 review") == "01-2011-review"  # not list numbering
    assert channel_name(3, "Économie & Société — über") == "03-economie-and-societe-uber"
    assert channel_name(12, "🚀🚀") == "12-item"
    assert channel_name(7, "") == "07-item"
    long = channel_name(9, "word " * 60)
    assert len(long) <= 100 and long.endswith("word") and CHANNEL_RE.match(long)


@given(st.integers(min_value=0, max_value=999), st.text(max_size=300))
def test_channel_name_rules(position: int, title: str):
    name = channel_name(position, title)
    assert 0 < len(name) <= 100
    assert CHANNEL_RE.match(name), name
    assert name.startswith(f"{position:02d}-")


@given(st.text(max_size=300))
def test_slugify_rules(title: str):
    key = slugify(title)
    assert 0 < len(key) <= 80 and CHANNEL_RE.match(key)
    assert slugify(title) == key  # stable


def test_slugify_examples():
    assert slugify("4. Tackling cyber crime") == "4-tackling-cyber-crime"
    assert slugify("What is unacceptable offline is also unacceptable online") == (
        "what-is-unacceptable-offline-is-also-unacceptable-online"
    )
    assert slugify("日本語").startswith("item-")


def test_thread_names():
    assert thread_name("  Legislation must be\nsupported ") == "Legislation must be supported"
    assert thread_name("   ") == "Untitled"
    long = thread_name("word " * 40)
    assert len(long) <= 100 and long.endswith("…") and "wor…" not in long


@given(st.text(max_size=400))
def test_thread_name_rules(title: str):
    name = thread_name(title)
    assert 0 < len(name) <= 100 and "\n" not in name


# --------------------------------------------------------------------------- rendering


def assert_within_discord_limits(parts: list[ArticlePart]) -> None:
    assert parts
    for part in parts:
        assert 1 <= len(part.embeds) <= MESSAGE_EMBEDS_MAX
        total = 0
        for e in part.embeds:
            assert e.title or e.description or e.footer
            if e.title is not None:
                assert discord_len(e.title) <= EMBED_TITLE_MAX
            if e.description is not None:
                assert 0 < discord_len(e.description) <= EMBED_DESCRIPTION_MAX
            if e.footer is not None:
                assert discord_len(e.footer) <= EMBED_FOOTER_MAX
            total += e.size()
        assert total <= MESSAGE_EMBED_CHARS_MAX
        if part.content is not None:
            assert discord_len(part.content) <= 2000


def test_short_article_is_one_message():
    parts = render_article("4. Tackling cyber crime", "Short.", "Body one.\n\nBody two.")
    assert len(parts) == 1
    head, body = parts[0].embeds
    assert (head.title, head.description, head.footer) == (
        "4. Tackling cyber crime",
        "Short.",
        None,
    )
    assert body.description == "Body one.\n\nBody two."
    assert article_body_from_parts(parts) == "Body one.\n\nBody two."


def test_empty_body_is_just_the_head():
    parts = render_article("T", "S", "")
    assert len(parts) == 1 and len(parts[0].embeds) == 1
    assert article_body_from_parts(parts) == ""


def test_footer_notes_status_and_edit():
    edited = datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    parts = render_article("T", "S", "B", edited_at=edited, status_line="Open · closes 31 Dec")
    assert parts[0].embeds[0].footer == "Open · closes 31 Dec · edited 2026-03-01 09:30 UTC"
    assert fingerprint(parts) != fingerprint(render_article("T", "S", "B"))


def test_fingerprint_is_stable_and_content_sensitive():
    a = render_article("T", "S", "Body")
    assert fingerprint(a) == fingerprint(render_article("T", "S", "Body"))
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(a))
    assert fingerprint(a) != fingerprint(render_article("T", "S", "Body!"))
    assert fingerprint(a) != fingerprint(render_article("T2", "S", "Body"))


def test_long_body_splits_on_paragraphs_and_fills_the_opening_post():
    paragraph = ("This is a sentence of the article. " * 20).strip()  # ~700 chars
    body = "\n\n".join(f"{n} {paragraph}" for n in range(40))
    parts = render_article("Title", "Summation.", body)
    assert_within_discord_limits(parts)
    assert article_body_from_parts(parts) == body
    assert len(parts) > 1
    assert parts[0].size() > MESSAGE_EMBED_CHARS_MAX - 800  # as much body as fits
    for e in [e for p in parts for e in p.embeds][1:]:
        text = e.description.rstrip("\n")
        assert text.endswith(paragraph[-20:])  # every cut is at a paragraph break


def test_paragraph_longer_than_an_embed_splits_on_sentences_then_words():
    sentence_body = ("Alpha beta gamma delta. " * 400).strip()
    parts = render_article("T", "S", sentence_body)
    assert_within_discord_limits(parts)
    assert article_body_from_parts(parts) == sentence_body
    chunks = [e.description for p in parts for e in p.embeds][1:]
    assert all(c.rstrip().endswith(".") for c in chunks)

    word_body = " ".join(["word"] * 3000)
    chunks = [e.description for p in render_article("T", "S", word_body) for e in p.embeds][1:]
    assert "".join(chunks) == word_body
    assert all(c.rstrip().endswith("word") and c.startswith("word") for c in chunks)


def test_a_word_longer_than_an_embed_is_split_hard():
    body = "start " + "x" * 9000 + " end"
    parts = render_article("T", "S", body)
    assert_within_discord_limits(parts)
    assert article_body_from_parts(parts) == body


def test_emoji_count_double_towards_limits():
    body = "😀" * 5000
    parts = render_article("T", "S", body)
    assert_within_discord_limits(parts)
    assert article_body_from_parts(parts) == body
    assert all(len(e.description) <= 2048 for p in parts for e in p.embeds[1:] if p is parts[0])


def test_many_short_paragraphs_are_packed_into_few_embeds():
    body = "\n\n".join(f"Short paragraph number {n}." for n in range(2000))
    parts = render_article("T", "S", body)
    assert_within_discord_limits(parts)
    assert article_body_from_parts(parts) == body
    embeds = sum(len(p.embeds) for p in parts)
    assert embeds <= len(body) // 3000 + 2 * len(parts)


def test_long_title_and_summation_limits():
    parts = render_article("T" * 300, "s" * 500, "b")
    assert discord_len(parts[0].embeds[0].title) <= EMBED_TITLE_MAX
    # emoji count twice; a huge status line is clipped to what the message can hold
    parts = render_article("🚀" * 300, "😀" * 2000, "b" * 9000, status_line="x " * 3000)
    assert_within_discord_limits(parts)
    assert parts[0].embeds[0].footer.endswith("…")
    assert discord_len(thread_name("🚀 " * 100)) <= 100
    with pytest.raises(ValueError, match="summation"):
        render_article("T", "s" * 5000, "b")


_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Z", "Cc")),
    min_size=1,
    max_size=40,
)
_sep = st.sampled_from([" ", " ", "  ", "\n", "\n\n", "\n\n\n", ". ", "! ", "\t", " \n \n"])
_joiner = st.sampled_from([" ", " ", ". ", "? ", "\n", "\n\n", ", "])


@st.composite
def article_bodies(draw) -> str:
    """Bodies up to 60,000 characters built from a few segments, so large sizes are common.

    A segment is a run of words (a very long paragraph, lines, sentences) or one very long
    word (no space to split at), made from random non-space tokens.
    """
    out: list[str] = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        tokens = draw(st.lists(_words, min_size=1, max_size=5))
        count = draw(st.integers(min_value=1, max_value=4000))
        if draw(st.integers(0, 4)) == 0:
            piece = "".join(tokens)[:12] * min(count, 1000)  # one long word
        else:
            joiner = draw(_joiner)
            piece = joiner.join(tokens[i % len(tokens)] for i in range(count))
        out.append(piece)
        out.append(draw(_sep))
    return "".join(out)[:60_000].strip()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    body=article_bodies(),
    title=st.text(min_size=1, max_size=100),
    summation=st.text(min_size=1, max_size=500),
    edited=st.booleans(),
)
def test_render_never_truncates_and_respects_limits(body, title, summation, edited):
    parts = render_article(
        title,
        summation,
        body,
        edited_at=datetime(2026, 1, 2, tzinfo=UTC) if edited else None,
        status_line="Open",
    )
    assert_within_discord_limits(parts)
    assert article_body_from_parts(parts) == body
    # no piece is cut inside a word when a space was available in the room
    chunks = [e.description for p in parts for e in p.embeds][1:]
    assert all(c.strip() for c in chunks)  # Discord rejects blank descriptions
    for chunk, following in zip(chunks, chunks[1:], strict=False):
        if chunk[-1:].isspace() or following[:1].isspace():
            continue
        assert not re.search(r"\s", chunk.strip()), "hard split although a space was available"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=9000), min_size=1, max_size=8))
def test_render_never_truncates_paragraph_lists(paragraphs):
    body = "\n\n".join(paragraphs)
    parts = render_article("T", "S", body)
    assert_within_discord_limits_loose(parts)
    assert article_body_from_parts(parts) == body


def assert_within_discord_limits_loose(parts: list[ArticlePart]) -> None:
    """Limits only (arbitrary text may contain whitespace-only stretches)."""
    for part in parts:
        assert len(part.embeds) <= MESSAGE_EMBEDS_MAX
        assert part.size() <= MESSAGE_EMBED_CHARS_MAX
        for e in part.embeds:
            assert discord_len(e.description or "") <= EMBED_DESCRIPTION_MAX


# --------------------------------------------------------------------------- sentences


def test_sentences_of_the_seed_paragraph():
    text = (
        FIRST_PARAGRAPH + " As online criminals operate across national borders, all delegates "
        "strongly supported the principle.  As was pointed out in the London Cyber Youth "
        "sessions, for young people the online and offline worlds are one place."
    )
    got = sentences(text)
    assert got == [
        FIRST_PARAGRAPH,
        "As online criminals operate across national borders, all delegates strongly "
        "supported the principle.",
        "As was pointed out in the London Cyber Youth sessions, for young people the online "
        "and offline worlds are one place.",
    ]


def test_sentences_london_body(london: AgendaSpec):
    got = sentences(london.items[3].body)
    assert got[0] == FIRST_PARAGRAPH
    assert got[-1] == (
        "It was agreed that governments need to lead by example, and that when governments "
        "procure and provide online services, security is one of the key criteria."
    )
    assert "Industry must be a part of the solution on prevention." in got
    assert any(s.startswith("Speakers pointed to the network") and s.endswith("it.") for s in got)
    assert len(got) == 24


def test_sentences_abbreviations_and_punctuation():
    text = (
        "Dr. Smith met the U.K. delegation, e.g. officials from the F.C.O. and others. "
        "Was it useful? Yes! The cost was 3.5 million etc. and more. "
        "J. R. Hartley agreed… Then “quoted.” Next one."
    )
    assert sentences(text) == [
        "Dr. Smith met the U.K. delegation, e.g. officials from the F.C.O. and others.",
        "Was it useful?",
        "Yes!",
        "The cost was 3.5 million etc. and more.",
        "J. R. Hartley agreed…",
        "Then “quoted.”",
        "Next one.",
    ]


def test_sentences_strip_markdown():
    text = """# The **London** Agenda

Read the [Budapest Convention](https://example.org/convention) *now*. It is `short`
and it wraps across lines.

> A quoted line. Another.

- first bullet
- second **bullet**. With two sentences.
1. numbered

---
```
code line
```
snake_case_name stays; __bold__ and _italic_ go. ~~old~~ ||secret||
"""
    assert sentences(text) == [
        "The London Agenda",
        "Read the Budapest Convention now.",
        "It is short and it wraps across lines.",
        "A quoted line.",
        "Another.",
        "first bullet",
        "second bullet.",
        "With two sentences.",
        "numbered",
        "code line",
        # a full stop followed by a lowercase word does not end a sentence
        "snake_case_name stays; bold and italic go. old secret",
    ]


def test_sentences_of_empty_text():
    assert sentences("") == []
    assert sentences("\n\n  \n") == []
