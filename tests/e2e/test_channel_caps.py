"""Discord's channel caps: 50 channels per category, 500 per server. The bot overflows into a
"<consultation> (2)" category, or refuses before anything is stored."""

from __future__ import annotations

from tests.e2e.conftest import answer_text, finished


def agenda(title: str, n: int) -> bytes:
    items = "".join(f'[[items]]\ntitle = "Point {k}"\nsummation = "About point {k}."\n'
                    for k in range(1, n + 1))
    return f'[consultation]\ntitle = "{title}"\n{items}'.encode()


def categories_named(emu, guild_id, prefix):
    return sorted((c for c in emu.state.channels.values()
                   if c.guild_id == guild_id and c.type == 4 and c.name.startswith(prefix)),
                  key=lambda c: c.id)


def guild_channels(emu, guild_id):
    """What counts towards Discord's 500: channels and categories, not threads."""
    return [c for c in emu.state.channels.values() if c.guild_id == guild_id and not c.is_thread]


def children(emu, category):
    return [c for c in emu.state.channels.values() if c.parent_id == category.id and not c.is_thread]


async def test_a_full_category_overflows_into_a_second_one(emulator, consultation_bot):
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("big.toml", agenda("Big", 48))})
    await finished(emu, result, "Published", timeout=120)
    (first,) = categories_named(emu, emulator.guild.id, "Big")
    # The server's admins keep two channels of their own in the category: it holds 50 now.
    emu.create_text_channel(emulator.guild.id, "notes", parent_id=first.id)
    emu.create_text_channel(emulator.guild.id, "links", parent_id=first.id)
    grown = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                            {"file": emu.upload("big.toml", agenda("Big", 50))})
    await finished(emu, grown, "Published", timeout=120)
    assert "50 items — 2 created, 0 updated, 48 unchanged" in answer_text(grown)
    first, second = categories_named(emu, emulator.guild.id, "Big")
    assert (first.name, second.name) == ("Big", "Big (2)")
    assert len(children(emu, first)) == 50
    assert sorted(c.name for c in children(emu, second)) == ["49-point-49", "50-point-50"]
    items = await bot.repo.agenda.guild_items(emulator.guild.id)
    assert all(i.post_fingerprint for i in items) and len({i.channel_id for i in items}) == 50
    # Publishing again finds every channel where it is, in both categories.
    again = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                            {"file": emu.upload("big.toml", agenda("Big", 50))})
    await finished(emu, again, "Published", timeout=120)
    assert "0 created, 0 updated, 50 unchanged" in answer_text(again)
    assert len(categories_named(emu, emulator.guild.id, "Big")) == 2


async def test_an_agenda_that_does_not_fit_the_server_is_refused_before_anything_is_stored(
        emulator, consultation_bot):
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    for n in range(480):
        emu.create_text_channel(emulator.guild.id, f"busy-{n}")
    have = len(guild_channels(emu, emulator.guild.id))
    await emu.wait_for(lambda: len(bot.get_guild(emulator.guild.id).channels) == have)
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("big.toml", agenda("Too big", 30))})
    await finished(emu, result)
    text = answer_text(result)
    assert result.ephemeral
    assert f"needs 31 new channels and categories, but the server has {have}" in text
    assert f"Take {have + 31 - 500} items out" in text and "Nothing was stored or published" in text
    assert await bot.repo.agenda.consultations(emulator.guild.id) == []
    assert len(guild_channels(emu, emulator.guild.id)) == have
    assert not emu.calls("POST", "/guilds/{guild_id}/channels")


async def _add_form(emu, emulator, general, title):
    form = await emu.slash(emulator.alice.id, general.id, "agenda add")
    if form.modal is None:
        return form
    inputs = {c.get("label", ""): c["custom_id"] for c in form.modal.inputs}
    values = {next(v for k, v in inputs.items() if k.startswith("Title")): title,
              next(v for k, v in inputs.items() if k.startswith("Summation")): "Why not?"}
    return await emu.submit_modal(emulator.alice.id, form.modal, values)


async def test_agenda_add_in_a_full_server_is_refused_and_stores_nothing(emulator, published):
    emu, bot = emulator.emu, published
    general = emu.channel_named(emulator.guild.id, "general")
    before = await bot.repo.agenda.guild_items(emulator.guild.id)
    # The server fills up while the form is open: the check after the form refuses too.
    form = await emu.slash(emulator.alice.id, general.id, "agenda add")
    while len(guild_channels(emu, emulator.guild.id)) < 500:
        emu.create_text_channel(emulator.guild.id, "filler")
    await emu.wait_for(lambda: len(bot.get_guild(emulator.guild.id).channels) == 500)
    inputs = {c.get("label", ""): c["custom_id"] for c in form.modal.inputs}
    done = await emu.submit_modal(emulator.alice.id, form.modal, {
        next(v for k, v in inputs.items() if k.startswith("Title")): "One more",
        next(v for k, v in inputs.items() if k.startswith("Summation")): "Why not?"})
    await finished(emu, done)
    assert "500" in answer_text(done) and "Nothing was added" in answer_text(done)
    assert await bot.repo.agenda.guild_items(emulator.guild.id) == before
    refused = await emu.slash(emulator.alice.id, general.id, "agenda add")  # no form at all now
    assert refused.modal is None and "no room" in answer_text(refused)


async def test_agenda_add_keeps_no_item_when_discord_refuses_its_channel(emulator, published):
    emu, bot = emulator.emu, published
    general = emu.channel_named(emulator.guild.id, "general")
    before = await bot.repo.agenda.guild_items(emulator.guild.id)
    emu.fail_next("POST", "/guilds/{guild_id}/channels", status=403)
    done = await _add_form(emu, emulator, general, "Refused item")
    await finished(emu, done)
    assert "Added" not in answer_text(done)
    assert await bot.repo.agenda.guild_items(emulator.guild.id) == before
