"""/about on a busy consultation: deferred at once, its related topics from the cached map."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.runtime.client import ConsultationBot
from bot.storage.models import IncomingMessage
from tests.e2e.conftest import answer_text, eventually, finished, make_settings

TOPICS, COMMENTS = 100, 1000
THEMES = ["housing rents", "bus routes", "park benches", "school meals", "bike lanes",
          "library hours", "street lights", "recycling bins", "market stalls", "flood walls"]
WORDS = "should could more less fund cut open close share plan build repair every".split()


async def seed_storage(bot, emu, env) -> list:
    """TOPICS published-looking items with COMMENTS comments each, written straight into
    storage (each item has a real emulator channel, so /about can be used in it)."""
    repo = bot.repo
    consultation = await repo.agenda.upsert_consultation(env.guild.id, "busy", "Busy", "")
    category = emu.create_category(env.guild.id, "Busy")
    await repo.agenda.set_category(consultation.id, category.id)
    rng = random.Random(13)
    start = datetime.now(UTC) - timedelta(days=10)
    items = []
    for n in range(TOPICS):
        theme = THEMES[n % len(THEMES)]
        item, _ = await repo.agenda.upsert_item(
            consultation.id, f"topic-{n}", parent_id=None, position=n, title=f"Topic {n}: {theme}",
            summation=f"What to do about {theme}?", body=f"The city asks about {theme}.")
        channel = emu.create_text_channel(env.guild.id, f"{n + 1}-topic-{n}", category.id)
        await repo.agenda.save_place(item.id, channel_id=channel.id)
        batch = [(IncomingMessage(
            message_id=(n + 1) * 1_000_000 + k, channel_id=channel.id, author_id=5000 + k % 250,
            content=f"We {rng.choice(WORDS)} {rng.choice(WORDS)} {theme} near {rng.choice(WORDS)}",
            created_at=start + timedelta(seconds=k)), [], []) for k in range(COMMENTS)]
        await repo.discussion.record_new(item.id, batch)
        items.append(await repo.agenda.item(item.id))
    return items


async def test_about_on_100_topics_of_1000_comments(emulator, start_client, tmp_path):
    emu, env = emulator.emu, emulator
    bot = ConsultationBot(make_settings(tmp_path, env), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    catchup = bot.get_cog("DiscussionCog").catchup
    await emu.wait_for(lambda: catchup.runs >= 1)  # the start's catch-up (and warm-up) is over
    items = await seed_storage(bot, emu, env)
    first, other = items[0], items[10]  # same theme: similar discussions

    result = await emu.slash(env.pat.id, first.channel_id, "about")
    assert result.deferred and not result.errors  # acknowledged inside Discord's 3 s
    await finished(emu, result, timeout=120)
    text = answer_text(result)
    assert first.title in text and f"Comments: {COMMENTS}" in text
    insight = bot.get_cog("InsightCog").insight
    if "Still being worked out" in text:  # the map is built from the start: not waited for
        await insight.topic_map(first.consultation_id)  # the build /about left running
        result = await emu.slash(env.pat.id, first.channel_id, "about")
        await finished(emu, result, timeout=60)
        text = answer_text(result)
    assert "Related topics" in text and other.title in text

    # A new comment elsewhere: the next /about reads only that topic's comments again.
    said = await emu.send_message(env.sam.id, other.channel_id, "More bike lanes, please.")
    await eventually(lambda: bot.repo.discussion.comment(said.id))
    builds = insight.map_builds
    result = await emu.slash(env.pat.id, first.channel_id, "about")
    assert result.deferred and not result.errors
    await finished(emu, result, timeout=60)
    assert "Related topics" in answer_text(result)
    assert insight.map_builds == builds + 1 and insight.last_map_reread == [other.id]
