"""/agenda publish under Discord's real limits: a background run that outlives the 15-minute
interaction token, shows its progress in a message of its own, and resumes after a restart."""

from __future__ import annotations

from bot.runtime.client import ConsultationBot
from tests.e2e.conftest import answer_text, eventually, finished, make_settings


def sixty_items(title: str = "Sixty") -> str:
    """20 items with 2 sub-items each: 60 items, 20 channels, 40 threads."""
    out = [f'[consultation]\ntitle = "{title}"\n']
    for n in range(1, 21):
        out.append(f'[[items]]\ntitle = "Question {n}"\nsummation = "What do you think of {n}?"\n'
                   f'body = "Some background on question {n}."\n')
        for s in ("a", "b"):
            out.append(f'[[items.items]]\ntitle = "Question {n}{s}"\n'
                       f'summation = "And of {n}{s}?"\n')
    return "".join(out)


def progress_posts(emu, channel_id, bot_id, title="Sixty"):
    return [m for m in emu.messages_in(channel_id) if m.author_id == bot_id
            and (m.content or "").startswith((f"Publishing “{title}”", f"Published “{title}”"))]


def progress_count(text: str) -> int:
    """The n of "Publishing “Sixty”… n/60: …"."""
    try:
        return int(text.split("… ", 1)[1].split("/", 1)[0])
    except (IndexError, ValueError):
        return 0


async def test_sixty_items_publish_completely_past_the_interaction_token(emulator, consultation_bot):
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    started = emu.clock.now()
    before = len(emu.requests)
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("sixty.toml", sixty_items().encode())})
    await finished(emu, result, "in the background")
    assert result.ephemeral and "60 items" in answer_text(result)
    (progress,) = progress_posts(emu, general.id, emu.bot_user.id)
    assert not progress.content.startswith("Published")  # the answer did not wait for it
    # A third of the way, Discord has been slow: 16 minutes pass, the token expires.
    await emu.wait_for(lambda: progress_count(progress.content) >= 20, timeout=120)
    emu.advance_time(16 * 60)
    await emu.wait_for(lambda: progress.content.startswith("Published"), timeout=120)
    assert progress.content == ("Published “Sixty”: 60 items — 60 created, 0 updated, "
                                "0 unchanged.")
    assert progress_posts(emu, general.id, emu.bot_user.id) == [progress]  # one message, edited
    items = await bot.repo.agenda.guild_items(emulator.guild.id)
    assert len(items) == 60 and all(i.post_fingerprint for i in items)
    assert len([i for i in items if i.thread_id]) == 40
    assert len({i.channel_id for i in items}) == 20
    # The token had expired: the interaction's answer was not edited into the report, and
    # nothing after the expiry went through the token (every try was refused with 50027).
    assert "Published" not in answer_text(result)
    assert emu.clock.now() - started > 15 * 60
    late_token_calls = [r for r in emu.requests[before:] if r.path.startswith("/webhooks/")
                        and r.time - started > 15 * 60 and r.status != 401]
    assert late_token_calls == []
    assert not [r for r in emu.requests[before:] if r.status >= 400 and r.status != 429
                and not r.path.startswith("/webhooks/")]


async def test_a_publish_interrupted_by_a_restart_resumes_and_reports_in_the_channel(
        emulator, consultation_bot, start_client, tmp_path):
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("sixty.toml", sixty_items("Resumed").encode())})
    await finished(emu, result, "in the background")
    (progress,) = progress_posts(emu, general.id, emu.bot_user.id, "Resumed")
    await emu.wait_for(lambda: progress_count(progress.content) >= 10, timeout=120)
    await bot.close()  # a restart (SIGTERM) in the middle of the run
    run = (await _runs(tmp_path, emulator))[0]
    assert run.status == "running" and 10 <= run.done < 60

    restarted = ConsultationBot(make_settings(tmp_path, emulator), guild_ready_timeout=0.05)
    await start_client(restarted, emu)
    await emu.wait_for(lambda: progress.content.startswith("Published"), timeout=120)
    assert progress.content.startswith("Published “Resumed”: 60 items — ")
    items = await restarted.repo.agenda.guild_items(emulator.guild.id)
    assert len(items) == 60 and all(i.post_fingerprint for i in items)

    async def finished_run():
        return (await restarted.repo.publishing.run(run.id)).status == "done"
    await eventually(finished_run)


async def _runs(tmp_path, emulator):
    from bot.storage import Repository

    repo = await Repository.open(make_settings(tmp_path, emulator).database)
    try:
        async with repo.db.reading() as tx:
            rows = await tx.fetchall("SELECT id FROM publish_runs ORDER BY id")
        return [await repo.publishing.run(r["id"]) for r in rows]
    finally:
        await repo.close()


async def test_a_failed_publish_says_so_in_its_channel_and_the_next_one_finishes(
        emulator, consultation_bot):
    import re

    emu = emulator.emu
    general = emu.create_text_channel(emulator.guild.id, "general")
    emu.fail_next("POST", re.compile(rf"/channels/(?!{general.id}/)\d+/messages"), status=403)
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish")
    await finished(emu, result, "in the background")
    (progress,) = progress_posts(emu, general.id, emu.bot_user.id, "The London Agenda")
    await emu.wait_for(lambda: "stopped" in progress.content, timeout=60)
    assert progress.content.startswith(
        "Publishing “The London Agenda” stopped after 0 of 12 items: Discord refused it")
    assert "run /agenda publish again to finish" in progress.content
    again = await emu.slash(emulator.alice.id, general.id, "agenda publish")
    await finished(emu, again, "Published", timeout=60)
    second = progress_posts(emu, general.id, emu.bot_user.id, "The London Agenda")[-1]
    assert second.content.startswith("Published “The London Agenda”: 12 items — 12 created")


async def test_a_newer_publish_takes_over_from_a_running_one(emulator, consultation_bot):
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    upload = sixty_items("Twice").encode()
    first = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                            {"file": emu.upload("a.toml", upload)})
    await finished(emu, first, "in the background")
    (old,) = progress_posts(emu, general.id, emu.bot_user.id, "Twice")
    second = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("b.toml", upload)})
    await finished(emu, second, "in the background")
    assert "starts when the publish that is running now ends" in answer_text(second)
    new = progress_posts(emu, general.id, emu.bot_user.id, "Twice")[-1]
    await emu.wait_for(lambda: new.content.startswith("Published"), timeout=120)
    assert "a newer /agenda publish took over" in old.content
    assert new.content.startswith("Published “Twice”: 60 items")
    items = await bot.repo.agenda.guild_items(emulator.guild.id)
    assert len(items) == 60 and len({i.channel_id for i in items}) == 20
    assert all(len(emu.threads_of(i.channel_id)) == 2 for i in items if i.parent_id is None)


async def test_the_command_hears_the_end_of_a_run_the_restart_resumer_picked_up(
        emulator, consultation_bot):
    """Once ready, the bot resumes every unfinished run; a run /agenda publish has just
    stored is one, before the command spawns it. The command's answer must still say how it
    ended (CI once saw it stay at "in the background" for 90 s, two processes on shards)."""
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    # The command's first answer is refused once (429, retry in 1 s): it is between storing
    # its run and spawning it for that long, and the resumer runs then.
    refused = emu.fail_next("POST", "/webhooks/{application_id}/{webhook_token}", 429,
                            retry_after=1.0)
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("two.toml", TWO_ITEMS.encode())})
    await emu.wait_for(lambda: refused.count == 0, timeout=30)
    assert await bot.get_cog("AgendaCog").runs.resume_all() == 1
    await finished(emu, result, "Published", timeout=30)
    assert answer_text(result) == "Published “Two”: 2 items — 2 created, 0 updated, 0 unchanged."
    (progress,) = progress_posts(emu, general.id, emu.bot_user.id, "Two")
    assert progress.content == answer_text(result)  # one run, reported once, in both places


TWO_ITEMS = ('[consultation]\ntitle = "Two"\n'
             '[[items]]\ntitle = "First"\nsummation = "One."\n'
             '[[items]]\ntitle = "Second"\nsummation = "Two."\n')
