"""Answers stay within Discord's payload limits however big the consultation grows."""

from __future__ import annotations

from bot.emulator.limits import MAX_EMBED_TOTAL, MAX_EMBEDS, embed_size
from tests.e2e.conftest import answer_text, finished


def hundred_item_agenda() -> str:
    """25 items with 3 sub-items each: 100 items, long titles."""
    out = ['[consultation]\ntitle = "Hundred"\n']
    for n in range(1, 26):
        out.append(f'[[items]]\ntitle = "Question {n:02d}: {"a long and winding title " * 3}"\n'
                   f'summation = "What do you think of {n}?"\n')
        for m in range(1, 4):
            out.append(f'  [[items.items]]\n  title = "Part {n:02d}.{m}: {"more words here " * 4}"\n'
                       f'  summation = "And of {n}.{m}?"\n')
    return "".join(out)


async def test_agenda_list_of_100_items_is_split_within_the_limits(emulator, consultation_bot):
    emu, g = emulator.emu, emulator.guild
    general = emu.create_text_channel(g.id, "general")
    published = await finished(emu, await emu.slash(
        emulator.alice.id, general.id, "agenda publish",
        {"file": emu.upload("hundred.toml", hundred_item_agenda().encode())}), "Published", 120)
    assert "100 items" in answer_text(published)

    listing = await emu.slash(emulator.pat.id, general.id, "agenda list")
    await emu.wait_for(lambda: listing.errors or "Part 25.3" in answer_text(listing), timeout=20)
    messages = [listing.message, *listing.followups]
    assert not listing.errors, listing.errors
    assert len(messages) >= 2  # about 20,000 characters do not fit in one message
    for message in messages:
        assert message.ephemeral
        assert len(message.embeds) <= MAX_EMBEDS
        assert sum(embed_size(e) for e in message.embeds) <= MAX_EMBED_TOTAL
    text = answer_text(listing)
    for n in range(1, 26):
        assert f"Question {n:02d}" in text and f"Part {n:02d}.3" in text


async def seed_comments(bot, item, n: int) -> None:
    """Store `n` comments straight into the database (as catch-up would), in batches."""
    import random
    from datetime import UTC, datetime, timedelta

    from bot.storage.models import IncomingMessage

    rng = random.Random(7)
    words = [f"w{k}" for k in range(5000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, n, 5000):
        batch = [(IncomingMessage(
            message_id=10**15 + k, channel_id=item.channel_id, author_id=1000 + k % 997,
            content=" ".join(rng.choices(words, k=30)), created_at=start + timedelta(seconds=k),
        ), [], []) for k in range(first, min(n, first + 5000))]
        await bot.repo.discussion.record_new(item.id, batch)


async def test_export_of_100000_comments_fits_discords_upload_limits(emulator, published):
    """comments.csv of 100,000 comments (about 17 MB) is over a 2 MiB per-file limit even
    zipped: it comes as zip volumes, over several messages, and joins back whole."""
    import csv
    import io
    import zipfile

    from tests.e2e.conftest import item_by_key

    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    await seed_comments(bot, crime, 100_000)
    g.attachment_size_limit = limit = 2 * 1024 * 1024
    result = await emu.slash(emulator.alice.id, crime.channel_id, "export", {"format": "csv"})
    await emu.wait_for(lambda: result.errors or "Sent" in answer_text(result), timeout=120)
    assert not result.errors, result.errors
    files: dict[str, bytes] = {}
    for message in [result.message, *result.followups]:
        assert message.ephemeral and len(message.files) <= 10
        assert sum(len(d) for _, d in message.files) <= 25 * 1024 * 1024
        for name, data in message.files:
            assert len(data) <= limit
            files[name] = data
    text = answer_text(result)
    assert "comments.csv" in text and "upload limit" in text and "cat " in text, text
    volumes = sorted(n for n in files if "comments.csv.zip." in n)
    assert len(volumes) >= 2
    with zipfile.ZipFile(io.BytesIO(b"".join(files[v] for v in volumes))) as z:
        (entry,) = z.namelist()
        rows = list(csv.DictReader(io.StringIO(z.read(entry).decode("utf-8-sig"))))
    assert entry.endswith("comments.csv") and len(rows) == 100_000
    assert any(n.endswith("moderation.csv") for n in files)  # the small files come as they are


async def test_mydata_export_of_a_prolific_participant_fits_the_upload_limit(emulator, published):
    import io
    import json
    import zipfile

    from tests.e2e.conftest import item_by_key

    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    from datetime import UTC, datetime, timedelta

    from bot.storage.models import IncomingMessage
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = [(IncomingMessage(message_id=10**15 + k, channel_id=crime.channel_id,
                              author_id=emulator.pat.id, content=f"comment {k} " + "words " * 40,
                              created_at=start + timedelta(seconds=k)), [], [])
             for k in range(5000)]
    await bot.repo.discussion.record_new(crime.id, batch)
    g.attachment_size_limit = 512 * 1024  # the JSON is about 2 MB
    result = await emu.slash(emulator.pat.id, crime.channel_id, "mydata export")
    await emu.wait_for(lambda: result.errors or "stores about you" in answer_text(result))
    assert not result.errors, result.errors
    files = dict(f for m in [result.message, *result.followups] for f in m.files)
    assert all(len(d) <= 512 * 1024 for d in files.values())
    ((name, data),) = files.items()
    assert name.endswith(".json.zip") and "zipped" in answer_text(result)
    exported = json.loads(zipfile.ZipFile(io.BytesIO(data)).read(name[:-4]))
    assert len(exported["comments"]) == 5000
