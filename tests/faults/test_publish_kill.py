"""`kill -9` during `/agenda publish`: after a restart and a publish, nothing is there twice.

The bot is killed at a REST call chosen by a seeded random generator (30 seeds), either just
before Discord performs the call or just after (performed, but the bot never hears the
answer); for about a third of the seeds the restarted bot is killed again while it resumes. The killed client never runs again (``Emulator.kill_bot``); a new client on the same
database resumes the stored run, and the organiser publishes once more. Then every channel,
thread and post of the bot in the consultation's category must be exactly one recorded by
an item: no duplicate article posts, no duplicate threads, no orphan starter posts.
"""

from __future__ import annotations

import random

import pytest

from bot.emulator import Emulator
from bot.emulator.harness import ClientRunner
from bot.emulator.seed import seed_consultation
from bot.runtime.client import ConsultationBot

from .conftest import eventually, make_settings

LONG = "\n\n".join(f"Paragraph {n}. " + "The consultation asks what people think. " * 40
                   for n in range(8))  # about 13,000 characters: an article of several posts


def agenda() -> str:
    def item(title: str, body: str = "", sub: bool = False) -> str:
        head = "[[items.items]]" if sub else "[[items]]"
        return (f'{head}\ntitle = "{title}"\nsummation = "What about {title.lower()}?"\n'
                f"body = '''{body}'''\n")
    return ('[consultation]\ntitle = "Kill Test"\n'
            + item("Transport") + item("Buses", sub=True) + item("Trams", LONG, sub=True)
            + item("Housing", LONG)
            + item("Parks") + item("Trees", sub=True) + item("Ponds", sub=True))


ITEMS, TOP_LEVEL = 7, 3
_reference: dict[str, int] = {}  # agenda text -> REST calls of a clean publish


async def bot_calls_of_a_clean_publish(tmp_path, text: str | None = None) -> int:
    """How many REST calls a publish of the agenda (or ``text``) makes when nothing goes
    wrong; measured once per agenda text."""
    text = agenda() if text is None else text
    if text in _reference:
        return _reference[text]
    emu = Emulator()
    world = seed_consultation(emu)
    await emu.start()
    (tmp_path / "ref").mkdir()
    bot = ConsultationBot(make_settings(tmp_path / "ref", world), guild_ready_timeout=0.05)
    runner = ClientRunner(bot, emu)
    try:
        await runner.start()
        general = emu.create_text_channel(world.guild.id, "general")
        before = len(emu.requests)
        result = await emu.slash(world.alice.id, general.id, "agenda publish",
                                 {"file": emu.upload("kill.toml", text.encode())})
        await emu.wait_for(lambda: "Published" in (result.message.content if result.message else ""),
                           timeout=60)
        _reference[text] = sum(1 for r in emu.requests[before:]
                                  if not r.path.startswith(("/interactions/", "/webhooks/")))
    finally:
        await runner.close()
        await emu.stop()
    return _reference[text]


def assert_nothing_twice(emu, guild_id: int, bot_user_id: int, items) -> None:
    state = emu.state
    categories = [c for c in state.channels.values()
                  if c.guild_id == guild_id and c.type == 4 and c.name.startswith("Kill Test")]
    assert [c.name for c in categories] == ["Kill Test"]
    channels = [c for c in state.channels.values()
                if c.parent_id == categories[0].id and not c.is_thread]
    assert sorted(c.id for c in channels) == sorted(i.channel_id for i in items if i.parent_id is None)
    assert len({c.name for c in channels}) == TOP_LEVEL
    for channel in channels:
        here = [i for i in items if i.channel_id == channel.id]
        expected = set()
        for i in here:
            expected.update(i.post_message_ids if i.parent_id is None else [i.starter_message_id])
        posted = {m.id for m in emu.messages_in(channel.id)  # (type 0: not "pinned a message")
                  if m.author_id == bot_user_id and not m.deleted and m.type == 0}
        assert posted == expected, f"#{channel.name}: extra {posted - expected}, missing {expected - posted}"
        threads = emu.threads_of(channel.id)
        subs = [i for i in here if i.parent_id is not None]
        assert sorted(t.id for t in threads) == sorted(i.thread_id for i in subs)
        for sub in subs:
            assert sub.thread_id == sub.starter_message_id  # the thread is its starter's
            in_thread = [m.id for m in emu.messages_in(sub.thread_id)
                         if m.author_id == bot_user_id and not m.deleted and m.type == 0]
            assert in_thread == sub.post_message_ids[1:]
    for i in items:
        posts = [emu.get_message(m) for m in i.post_message_ids]
        assert posts and posts[0].embeds[0]["title"] == i.title and i.post_fingerprint
        if i.parent_id is None:
            assert posts[0].pinned


@pytest.mark.parametrize("seed", range(30))
async def test_kill_during_publish_leaves_no_duplicates(seed, emulator, start_client, tmp_path):
    calls = await bot_calls_of_a_clean_publish(tmp_path)
    rng = random.Random(seed)
    kill_at, phase = rng.randint(1, calls), rng.choice(["before", "after"])
    # One seed in three kills the restarted bot too, while it resumes the run.
    second = (rng.randint(1, max(1, calls // 2)), rng.choice(["before", "after"])) \
        if rng.random() < 1 / 3 else None
    await kill_restart_and_check(emulator, start_client, tmp_path, kill_at, phase, second)


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_kill_at_the_progress_message_leaves_one(phase, emulator, start_client, tmp_path):
    """The run's first call posts its progress message: killed there, the resumed run finds
    it (after) or posts it (before), never a second one."""
    await kill_restart_and_check(emulator, start_client, tmp_path, 1, phase, None)


async def kill_restart_and_check(emulator, start_client, tmp_path, kill_at: int, phase: str,
                                 second: tuple[int, str] | None) -> None:
    emu, g = emulator.emu, emulator.guild

    def kill_at_call(n: int, when: str) -> None:
        seen = 0

        def decide(record):
            nonlocal seen
            seen += 1
            return when if seen == n else None
        emu.kill_bot_on(decide)

    bot = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(bot, emu)
    general = emu.create_text_channel(g.id, "general")
    kill_at_call(kill_at, phase)
    first = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                            {"file": emu.upload("kill.toml", agenda().encode())})
    await emu.wait_for(lambda: emu.dead_auth or "Published" in (
        first.message.content if first.message else ""), timeout=60)
    assert emu.dead_auth, f"the publish made fewer than {kill_at} calls"

    async def restart_and_resume(kill: tuple[int, str] | None):
        restarted = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
        await start_client(restarted, emu)
        deaths = len(emu.dead_auth)
        if kill is not None:
            kill_at_call(*kill)

        async def no_run_left():
            if len(emu.dead_auth) > deaths:
                return "killed"
            return not await restarted.repo.publishing.unfinished_runs() and not (
                restarted.get_cog("AgendaCog").runs.busy)
        outcome = await eventually(no_run_left, timeout=60)
        emu.kill_on = None
        return restarted, outcome

    restarted, outcome = await restart_and_resume(second)
    if outcome == "killed":  # killed again while resuming: once more
        restarted, outcome = await restart_and_resume(None)
    again = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                            {"file": emu.upload("kill.toml", agenda().encode())})
    await emu.wait_for(lambda: "Published" in (again.message.content if again.message else ""),
                       timeout=60)
    assert f"{ITEMS} items" in again.message.content
    items = await restarted.repo.agenda.guild_items(g.id)
    assert len(items) == ITEMS
    assert_nothing_twice(emu, g.id, emu.bot_user.id, items)
    assert await restarted.repo.publishing.intents() == []
    # Each publish run has one progress message in #general, and no other is left there.
    progress = {m.id for m in emu.messages_in(general.id) if m.author_id == emu.bot_user.id
                and (m.content or "").startswith(("Publishing “Kill Test”", "Published “Kill Test”"))}
    consultation = (await restarted.repo.agenda.consultations(g.id))[0]
    assert progress == await restarted.repo.publishing.run_message_ids(consultation.id)
