"""The one truncation helper and the one sentence splitter (bot.core.text)."""

from bot.core.text import discord_len, sentences, split_sentences, truncate


def test_truncate_counts_discord_units_and_cuts_on_a_word() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("Support for the Budapest Convention on cyber crime", 30)
    assert cut == "Support for the Budapest…"
    assert discord_len(cut) <= 30
    emoji = "🙂" * 20  # 40 UTF-16 units
    assert discord_len(truncate(emoji, 11)) <= 11


def test_one_splitter_for_plain_text_and_markdown() -> None:
    plain = "Dr. Smith spoke, e.g. on costs. Then the minister answered! Was it enough?"
    assert split_sentences(plain) == [
        "Dr. Smith spoke, e.g. on costs.",
        "Then the minister answered!",
        "Was it enough?",
    ]
    md = "## Heading\n\n- a **bold** point. Another one.\n"
    assert sentences(md) == ["Heading", "a bold point.", "Another one."]
