"""MODERATOR_ROLE_ID holders see and use the moderator commands, and organisers moderate too.

Discord's default_member_permissions can only name permission bits, not a role, and a bot
cannot set per-command role overrides. So when a moderator or organiser role is configured
the moderator commands are shown to everyone and checked when they run."""

from __future__ import annotations

from bot.emulator import P
from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import answer_text, finished, item_by_key, make_settings


async def run(emu, user_id, channel_id, command, options=None):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}))


async def test_moderator_role_holders_and_organisers_can_moderate(emulator, start_client, tmp_path):
    emu, g = emulator.emu, emulator.guild
    stewards = emu.create_role(g.id, "Stewards", 0)  # no Manage Threads
    emu.set_member_roles(g.id, emulator.sam.id, [stewards.id])
    organisers_only = emu.create_role(g.id, "Hosts", P.MANAGE_GUILD)
    emu.set_member_roles(g.id, emulator.alice.id, [organisers_only.id])
    bot = ConsultationBot(make_settings(tmp_path, emulator, moderator_role_id=stewards.id),
                          guild_ready_timeout=0.05)
    await start_client(bot, emu)
    general = emu.create_text_channel(g.id, "general")
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish"),
                   "Published")
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")

    locked = await run(emu, emulator.sam.id, crime.channel_id, "lock", {"reason": "steward"})
    assert "Locked" in answer_text(locked), answer_text(locked)
    log = await run(emu, emulator.sam.id, crime.channel_id, "modlog")
    assert "steward" in answer_text(log)
    unlocked = await run(emu, emulator.alice.id, crime.channel_id, "unlock")  # an organiser
    assert "Unlocked" in answer_text(unlocked), answer_text(unlocked)
    refused = await run(emu, emulator.pat.id, crime.channel_id, "lock")  # shown, but refused
    assert refused.ephemeral and "Only moderators" in answer_text(refused)
    assert not (await bot.repo.agenda.item(crime.id)).locked
