"""Cooldowns do not bite normal use: refused attempts and cached answers cost nothing, and
an organiser can export each format in turn."""

from __future__ import annotations

from discord import app_commands

from bot.runtime.error_handler import describe_error
from tests.e2e.conftest import answer_text, eventually, finished, item_by_key


async def run(emu, user_id, channel_id, command, options=None, marker=""):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}),
                          marker)


async def test_an_organiser_can_export_md_then_json_then_csv(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    for fmt in ("md", "json", "csv"):
        result = await run(emu, emulator.alice.id, crime.channel_id, "export", {"format": fmt},
                           marker="Sent")
        assert "Slow down" not in answer_text(result), fmt


async def test_refused_cites_and_cached_summaries_cost_nothing(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    for _ in range(6):  # more than the 5 a minute /cite allows
        bad = await run(emu, emulator.pat.id, crime.channel_id, "cite", {"url": "javascript:x"})
        assert "cannot be cited" in answer_text(bad)
    good = await run(emu, emulator.pat.id, crime.channel_id, "cite",
                     {"url": "https://example.org/report"})
    assert "Cited" in answer_text(good), answer_text(good)

    said = await emu.send_message(emulator.pat.id, crime.channel_id, "Prevention matters most.")
    await eventually(lambda: bot.repo.discussion.comment(said.id))
    answers = []
    for _ in range(4):  # /summary allows 2 computations in 30 s; cached answers are free
        answers.append(answer_text(await run(emu, emulator.sam.id, crime.channel_id, "summary")))
    assert not any("Slow down" in a for a in answers), answers
    assert sum("computed now" in a for a in answers) <= 2


def test_the_wait_is_rounded_up_never_0_s():
    bucket = app_commands.Cooldown(1, 30)
    assert describe_error(app_commands.CommandOnCooldown(bucket, 0.3)).endswith("in 1 s.")
    assert "in 30 s" in describe_error(app_commands.CommandOnCooldown(bucket, 29.2))
