"""The consultation's dates as a Discord scheduled event: created on publish, updated when the
dates change, cancelled when the agenda drops them (through the emulator's strict endpoints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.emulator import P
from tests.e2e.conftest import finished

NOW = datetime.now(UTC).replace(microsecond=0)


def _agenda(dates: str) -> bytes:
    return ('[consultation]\ntitle = "Cyber Agenda"\ndescription = "Have your say."\n' + dates +
            '[[items]]\ntitle = "One"\nsummation = "The only item."\n').encode()


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _publish(emulator, channel_id: int, text: bytes):
    emu = emulator.emu
    return await finished(emu, await emu.slash(emulator.alice.id, channel_id, "agenda publish",
                                               {"file": emu.upload("a.toml", text)}), "Published")


async def test_scheduled_event_is_created_updated_and_cancelled(emulator, consultation_bot):
    emu, g = emulator.emu, emulator.guild
    general = emu.create_text_channel(g.id, "general")
    opens, closes = NOW + timedelta(days=1), NOW + timedelta(days=30)
    await _publish(emulator, general.id, _agenda(f"opens_at = {_stamp(opens)}\n"
                                                 f"closes_at = {_stamp(closes)}\n"))
    await emu.wait_for(lambda: len(emu.scheduled_events) == 1)
    (event,) = emu.scheduled_events.values()
    assert (event.name, event.start, event.end, event.status) == ("Cyber Agenda", opens, closes, 1)
    assert event.description == "Have your say." and "Cyber Agenda" in event.location

    later = closes + timedelta(days=7)
    await _publish(emulator, general.id, _agenda(f"opens_at = {_stamp(opens)}\n"
                                                 f"closes_at = {_stamp(later)}\n"))
    await emu.wait_for(lambda: event.end == later)
    assert len(emu.scheduled_events) == 1  # the same event, updated

    await _publish(emulator, general.id, _agenda(""))
    await emu.wait_for(lambda: event.status == 4)  # CANCELED


async def test_an_open_consultation_starts_now_and_a_missing_permission_is_no_crash(
        emulator, consultation_bot):
    emu, g = emulator.emu, emulator.guild
    general = emu.create_text_channel(g.id, "general")
    closes = NOW + timedelta(days=10)
    role = emulator.bot_role
    emu.set_role_permissions(g.id, role.id, role.permissions & ~P.CREATE_EVENTS)
    await _publish(emulator, general.id, _agenda(f"closes_at = {_stamp(closes)}\n"))
    await emu.wait_for(lambda: any(r.route == "/guilds/{guild_id}/scheduled-events"
                                   and r.method == "POST" and r.status == 403 for r in emu.requests))
    assert emu.scheduled_events == {}  # refused (403): the agenda is still published
    emu.set_role_permissions(g.id, role.id, role.permissions | P.CREATE_EVENTS)
    await _publish(emulator, general.id, _agenda(f"opens_at = {_stamp(NOW - timedelta(days=1))}\n"
                                                 f"closes_at = {_stamp(closes)}\n"))
    await emu.wait_for(lambda: len(emu.scheduled_events) == 1)
    (event,) = emu.scheduled_events.values()
    assert NOW < event.start < NOW + timedelta(minutes=10) and event.end == closes
