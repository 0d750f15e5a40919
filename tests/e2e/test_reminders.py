"""Reminders before closing dates, end to end: at the right (bot-clock) times, once, across
restarts, and with the lead times the agenda file sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import eventually, finished, make_settings

CLOSES = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def _agenda(reminders: str = "") -> str:
    stamp = CLOSES.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ('[consultation]\ntitle = "Timed"\n' + reminders +
            '[[items]]\ntitle = "Closing later"\nsummation = "Comments close in three days."\n'
            f'closes_at = {stamp}\n'
            '[[items]]\ntitle = "Never closes"\nsummation = "Open-ended."\n')


def _reminders(emu, channel_id):
    return [m for m in emu.messages_in(channel_id)
            if m.embeds and "closing-reminder" in (m.embeds[0].get("footer") or {}).get("text", "")]


async def _start(emulator, start_client, tmp_path, now):
    bot = ConsultationBot(make_settings(tmp_path, emulator), clock=lambda: now,
                          guild_ready_timeout=0.05)
    await start_client(bot, emulator.emu)
    return bot


async def _publish(emulator, bot, text):
    emu = emulator.emu
    general = emu.create_text_channel(emulator.guild.id, "general")
    await finished(emu, await emu.slash(emulator.alice.id, general.id, "agenda publish",
                                        {"file": emu.upload("timed.toml", text.encode())}),
                   "Published")
    return await bot.repo.agenda.guild_items(emulator.guild.id)


async def test_reminders_arrive_at_24h_and_1h_before_closing_and_only_once(
        emulator, start_client, tmp_path):
    emu = emulator.emu
    first = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(days=2))
    timed, endless = await _publish(emulator, first, _agenda())
    await first.close()
    assert _reminders(emu, timed.channel_id) == []  # two days before: nothing yet

    bot = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(hours=23))
    await emu.wait_for(lambda: len(_reminders(emu, timed.channel_id)) == 1)
    (day,) = _reminders(emu, timed.channel_id)
    assert f"<t:{int(CLOSES.timestamp())}:R>" in day.embeds[0]["description"]
    assert "Reminder 1 day before closing" in day.embeds[0]["footer"]["text"]
    assert not day.would_ping  # a reminder pings nobody
    assert _reminders(emu, endless.channel_id) == []
    await bot.close()

    # Restarted 50 minutes before closing: the 1 h reminder comes, the 24 h one not again.
    last = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(minutes=50))
    await emu.wait_for(lambda: len(_reminders(emu, timed.channel_id)) == 2)
    footers = [m.embeds[0]["footer"]["text"] for m in _reminders(emu, timed.channel_id)]
    assert ["1 day" in footers[0], "1 hour" in footers[1]] == [True, True]

    # Posted but not yet marked when the process died: found in the channel, not re-posted.
    async with last.repo.db.transaction() as tx:
        await tx.execute("UPDATE reminders SET state = 'pending' WHERE lead_s = 3600")
    await last.close()
    after_kill = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(minutes=40))

    async def marked_sent():
        rows = await after_kill.repo.outcomes.reminders_of(timed.id, CLOSES)
        return rows.get(3600, ("", None))[0] == "sent"
    await eventually(marked_sent)
    assert len(_reminders(emu, timed.channel_id)) == 2


async def test_agenda_lead_times_and_a_late_start_send_only_the_nearest_reminder(
        emulator, start_client, tmp_path):
    emu = emulator.emu
    bot = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(days=5))
    timed, _ = await _publish(emulator, bot, _agenda('reminders = ["2d", "6h", "30m"]\n'))
    await bot.close()
    # Down until 5 hours before closing: the 2-day and 6-hour reminders are both due;
    # only the 6-hour one is posted, and the 2-day one is skipped for good.
    late = await _start(emulator, start_client, tmp_path, CLOSES - timedelta(hours=5))
    await emu.wait_for(lambda: len(_reminders(emu, timed.channel_id)) == 1)
    assert "6 hours before closing" in _reminders(emu, timed.channel_id)[0].embeds[0]["footer"]["text"]

    async def states():
        rows = await late.repo.outcomes.reminders_of(timed.id, CLOSES)
        found = {lead: state for lead, (state, _) in rows.items()}
        return found if found.get(21600) == "sent" else None
    assert await eventually(states) == {172800: "skipped", 21600: "sent"}
