"""Slash commands, autocomplete, modals, context menus, buttons, deferrals and deadlines."""

import discord
import pytest

from bot.emulator import EmulatorError, EmulatorForbidden

from .bots import PNG


async def test_commands_are_synced_with_schema(env):
    cmds = {c["name"]: c for c in env.emu.interactions.commands[None]}
    assert {"ping", "agenda", "quote", "Hide from consultation", "Profile"} <= set(cmds)
    assert cmds["Hide from consultation"]["type"] == 3
    assert env.emu.calls("PUT", "/applications/{application_id}/commands")


async def test_slash_typed_options_and_public_answer(env):
    emu = env.emu
    r = await emu.slash(env.pat.id, env.chan.id, "ping",
                        {"text": "x", "times": 3, "loud": True})
    assert r.type == 4 and not r.ephemeral and r.content == "pong x 3 True"
    assert r.message in emu.messages_in(env.chan.id)
    assert r.message.interaction_metadata["user"]["id"] == str(env.pat.id)
    with pytest.raises(EmulatorError):
        await emu.slash(env.pat.id, env.chan.id, "ping", {"times": "three"})
    with pytest.raises(EmulatorError):
        await emu.slash(env.pat.id, env.chan.id, "ping", {"nope": 1})


async def test_user_and_channel_options(env):
    r = await env.emu.slash(env.alice.id, env.chan.id, "who",
                            {"member": env.sam.id, "where": env.chan.id})
    assert r.content == "sam in general"


async def test_ephemeral_is_not_in_channel(env):
    r = await env.emu.slash(env.pat.id, env.chan.id, "secret")
    assert r.ephemeral and r.content == "only you"
    assert env.emu.messages_in(env.chan.id) == []


async def test_subcommand_with_attachment_option(env):
    emu = env.emu
    up = emu.upload("agenda.toml", b"title = 'x'\n")
    r = await emu.slash(env.alice.id, env.chan.id, "agenda publish", {"file": up})
    assert r.content == "published 12" and r.ephemeral
    with pytest.raises(EmulatorError):
        await emu.slash(env.alice.id, env.chan.id, "agenda")


async def test_attachment_read_back_by_bot(env):
    r = await env.emu.slash(env.pat.id, env.chan.id, "echo-file",
                            {"file": env.emu.upload("a.bin", b"hello world")})
    assert r.content == "a.bin:11:b'hello'"


async def test_file_upload_read_back(env):
    r = await env.emu.slash(env.pat.id, env.chan.id, "picture")
    assert r.content == "map" and r.files == [("map.png", PNG)]
    # and a file the bot sends with channel.send comes through multipart too
    sent = await env.bot.get_channel(env.chan.id).send(
        file=discord.File(__import__("io").BytesIO(PNG), filename="again.png"))
    stored = env.emu.get_message(sent.id)
    assert stored.files == [("again.png", PNG)]
    assert await sent.attachments[0].read() == PNG


async def test_autocomplete(env):
    emu = env.emu
    choices = await emu.autocomplete(env.pat.id, env.chan.id, "quote", {"passage": "crim"},
                                     focused="passage")
    assert [c["value"] for c in choices] == ["crime", "criminal", "crimson"]
    with pytest.raises(EmulatorError, match="25"):
        await emu.autocomplete(env.pat.id, env.chan.id, "quote", {"passage": "many"},
                               focused="passage")


async def test_modal_round_trip(env):
    emu = env.emu
    r = await emu.slash(env.alice.id, env.chan.id, "feedback")
    assert r.type == 9 and r.modal.title == "Feedback"
    assert [c["custom_id"] for c in r.modal.inputs] == ["title", "body"]
    r2 = await emu.submit_modal(env.alice.id, r.modal, values={"title": "T", "body": "B"})
    assert r2.content == "got T|B" and r2.ephemeral
    with pytest.raises(EmulatorError):
        await emu.submit_modal(env.alice.id, r.modal, values={"body": "no title"})


async def test_modal_with_six_inputs_is_refused(env):
    r = await env.emu.slash(env.alice.id, env.chan.id, "toobig")
    assert r.type is None and r.error.code == 50035
    await env.emu.wait_for(lambda: env.bot.errors)
    assert isinstance(env.bot.errors[0], discord.HTTPException)
    r = await env.emu.slash(env.alice.id, env.chan.id, "toobig", {"long_input": True})
    assert r.type is None and "max_length" in str(r.error.errors)


async def test_context_menus(env):
    emu = env.emu
    m = await emu.send_message(env.pat.id, env.chan.id, "off topic")
    r = await emu.context_menu(env.mo.id, env.chan.id, "Hide from consultation",
                               target_message_id=m.id)
    assert r.content == f"hidden {m.id}" and r.ephemeral
    r = await emu.context_menu(env.mo.id, env.chan.id, "Profile", target_user_id=env.sam.id)
    assert r.content == "profile sam"


async def test_button(env):
    emu = env.emu
    r = await emu.slash(env.alice.id, env.chan.id, "confirm")
    assert r.message.components[0]["components"][0]["custom_id"] == "confirm"
    r2 = await emu.press_button(env.pat.id, r.message, "confirm")
    assert r2.type == 7
    assert emu.get_message(r.message.id).content == "confirmed"
    assert emu.get_message(r.message.id).components == []
    assert env.bot.views[0].clicked_by == [env.pat.id]
    with pytest.raises(EmulatorError):
        await emu.press_button(env.pat.id, r.message, "confirm")  # the button is gone


async def test_deferred_then_followups(env):
    emu, bot = env.emu, env.bot
    bot.release.clear()
    r = await emu.slash(env.pat.id, env.chan.id, "slow")
    assert r.deferred and r.message.flags & 128 and not r.done
    bot.release.set()
    await r.wait_done(timeout=5)
    assert r.content == "done" and r.message.flags & 128 == 0  # first follow-up edits it
    await r.wait_followups(1)
    assert [m.content for m in r.followups] == ["and more"] and r.followups[0].ephemeral
    assert [m.content for m in emu.messages_in(env.chan.id)] == ["done"]


async def test_three_second_deadline(env):
    emu, bot = env.emu, env.bot
    bot.release.clear()
    r = await emu.start_slash(env.pat.id, env.chan.id, "late")
    await emu.wait_for(lambda: emu.calls("PUT", "/applications/{application_id}/commands")
                       and r.id in emu.interactions.by_id)
    emu.advance_time(3.5)
    bot.release.set()
    await emu.interactions.wait_answer(r, 5)
    assert r.type is None and r.error.status == 404 and r.error.code == 10062
    await emu.wait_for(lambda: bot.errors)
    assert isinstance(bot.errors[0], discord.NotFound)


async def test_token_expires_after_15_minutes(env):
    emu, bot = env.emu, env.bot
    bot.release.clear()
    r = await emu.slash(env.pat.id, env.chan.id, "edit-later")
    assert r.deferred
    emu.advance_time(15 * 60 + 1)
    bot.release.set()
    await emu.wait_for(lambda: bot.errors)
    assert bot.errors[0].code == 50027 and bot.errors[0].status == 401


async def test_double_acknowledge_is_refused(env):
    r = await env.emu.slash(env.pat.id, env.chan.id, "ping")
    from bot.emulator.errors import ApiError

    with pytest.raises(ApiError) as e:
        env.emu.interactions.callback(r.id, r.token, {"type": 4, "data": {"content": "x"}}, [])
    assert e.value.code == 40060


async def test_default_member_permissions_hide_commands(env):
    emu = env.emu
    cmd = emu.interactions.commands[None][0]
    cmd["default_member_permissions"] = str(1 << 5)  # manage_guild
    with pytest.raises(EmulatorForbidden):
        await emu.slash(env.pat.id, env.chan.id, cmd["name"])
