"""The emulator's own logic without a client: permissions, mentions, history paging."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.emulator import Emulator, EmulatorForbidden, P
from bot.emulator.errors import ApiError
from bot.emulator.rest import history
from bot.emulator.state import normalize_channel_name


@pytest.fixture
def world():
    emu = Emulator()
    g = emu.create_guild("G")
    mods = emu.create_role(g.id, "Mods", P.MANAGE_THREADS)
    admins = emu.create_role(g.id, "Admins", P.ADMINISTRATOR)
    return emu, g, mods, admins


def test_permission_order_everyone_roles_member(world):
    emu, g, mods, admins = world
    pat = emu.add_member(g.id, "pat")
    mo = emu.add_member(g.id, "mo", roles=[mods.id])
    boss = emu.add_member(g.id, "boss", roles=[admins.id])
    ch = emu.create_text_channel(g.id, "c")
    perms = emu.state.permissions
    assert perms(pat.id, ch.id) & P.SEND_MESSAGES
    emu.set_overwrite(ch.id, g.id, deny=P.SEND_MESSAGES)
    assert not perms(pat.id, ch.id) & P.SEND_MESSAGES
    emu.set_overwrite(ch.id, mods.id, allow=P.SEND_MESSAGES)
    assert perms(mo.id, ch.id) & P.SEND_MESSAGES
    emu.set_overwrite(ch.id, mo.id, deny=P.SEND_MESSAGES)  # member overwrite wins
    assert not perms(mo.id, ch.id) & P.SEND_MESSAGES
    emu.set_overwrite(ch.id, g.id, deny=P.VIEW_CHANNEL)
    assert perms(pat.id, ch.id) == 0  # no VIEW_CHANNEL: nothing
    assert perms(boss.id, ch.id) == P.ALL  # administrator ignores overwrites
    assert perms(g.owner_id, ch.id) == P.ALL
    assert not perms(emu.bot_user.id, guild_id=g.id) & P.ADMINISTRATOR


def test_threads_inherit_parent_overwrites(world):
    emu, g, mods, _ = world
    pat = emu.add_member(g.id, "pat")
    ch = emu.create_text_channel(g.id, "c")
    m = emu.post_message(pat.id, ch.id, {"content": "x"})
    th = emu.start_thread_from_message(pat.id, ch, m, {"name": "t"})
    emu.set_overwrite(ch.id, g.id, deny=P.SEND_MESSAGES_IN_THREADS)
    assert not emu.state.permissions(pat.id, th.id) & P.SEND_MESSAGES_IN_THREADS
    with pytest.raises(ApiError) as e:
        emu.post_message(pat.id, th.id, {"content": "y"})
    assert e.value.code == 50013


async def test_locked_thread_participant_refused(world):
    emu, g, mods, _ = world
    pat = emu.add_member(g.id, "pat")
    mo = emu.add_member(g.id, "mo", roles=[mods.id])
    ch = emu.create_text_channel(g.id, "c")
    th, _ = emu.start_thread(mo.id, ch, {"name": "t", "type": 11})
    emu.modify_channel(mo.id, th, {"locked": True})
    with pytest.raises(EmulatorForbidden) as e:
        await emu.send_message(pat.id, th.id, "no")
    assert e.value.api_error.code == 160005
    with pytest.raises(ApiError):
        emu.modify_channel(pat.id, th, {"locked": False})


def test_channel_name_rules():
    assert normalize_channel_name("  Item 1  Privacy ", 0) == "item-1-privacy"
    assert normalize_channel_name("Thread Name", 11) == "Thread Name"
    with pytest.raises(ApiError):
        normalize_channel_name("", 0)
    with pytest.raises(ApiError):
        normalize_channel_name("x" * 101, 11)


def test_mentions_rules(world):
    emu, g, mods, _ = world
    pat = emu.add_member(g.id, "pat")
    ch = emu.create_text_channel(g.id, "c")
    text = f"<@{pat.id}> <@&{mods.id}> @here"
    m = emu.post_message(pat.id, ch.id, {"content": text})
    # a participant without MENTION_EVERYONE: user pinged; unmentionable role and @here not
    assert m.would_ping.users == [pat.id] and not m.would_ping.roles and not m.would_ping.here
    # a sender with MENTION_EVERYONE (not in the README's invite: granted here for the rule)
    emu.set_role_permissions(g.id, g.bot_role_id, emu.default_bot_permissions | P.MENTION_EVERYONE)
    m = emu.post_message(emu.bot_user.id, ch.id, {"content": text,
                                                  "allowed_mentions": {"parse": ["everyone"]}})
    assert m.would_ping.here and not m.would_ping.users
    with pytest.raises(ApiError):
        emu.post_message(emu.bot_user.id, ch.id, {
            "content": text, "allowed_mentions": {"parse": ["users"], "users": [str(pat.id)]}})


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), limit=st.integers(1, 100), pick=st.integers(0, 60),
       mode=st.sampled_from(["none", "before", "after", "around"]))
def test_history_paging_matches_model(n, limit, pick, mode):
    emu = Emulator()
    g = emu.create_guild("G")
    ch = emu.create_text_channel(g.id, "c")
    ids = [emu.post_message(emu.bot_user.id, ch.id, {"content": str(i)}).id for i in range(n)]
    ref = ids[pick] if pick < n else (ids[-1] + 1000 if ids else 10**18)
    kw = {} if mode == "none" else {mode: ref}
    got = [m.id for m in history(emu, ch, limit=limit, **kw)]
    assert got == sorted(got, reverse=True)  # always newest first
    if mode == "none":
        assert got == ids[::-1][:limit]
    elif mode == "before":
        assert got == [i for i in ids[::-1] if i < ref][:limit]
    elif mode == "after":
        assert got == [i for i in ids if i > ref][:limit][::-1]
    else:
        assert len(got) <= limit
        if ref in ids:
            assert ref in got
        assert set(got) <= set(ids)
