"""The agenda in Discord, driven through the emulator as organisers and participants would."""

from __future__ import annotations

import re
import tomllib

from bot.core.agenda import load_agenda
from tests.e2e.conftest import LONDON, answer_text, finished

CHANNEL_TYPES_TEXT = 0


def category_channels(emu, guild_id, title):
    state = emu.state
    category = next(c for c in state.channels.values()
                    if c.guild_id == guild_id and c.type == 4 and c.name == title)
    children = [c for c in state.channels.values() if c.parent_id == category.id and not c.is_thread]
    return category, sorted(children, key=lambda c: c.id)


def bot_posts(emu, channel_id, bot_user_id):
    return [m for m in emu.messages_in(channel_id) if m.author_id == bot_user_id]


def item_posts(emu, item):
    """The article's posts as Discord shows them, in order."""
    return [emu.get_message(i) for i in item.post_message_ids]


def article_text(messages) -> str:
    """The body as the posts show it: every embed description after the head embed."""
    embeds = [e for m in messages for e in m.embeds]
    return "".join(e.get("description") or "" for e in embeds[1:])


async def publish(emu, user_id, channel_id, options=None):
    result = await emu.slash(user_id, channel_id, "agenda publish", options or {})
    return await finished(emu, result, "Published")


async def test_publish_creates_one_channel_per_item_threads_and_pinned_posts(emulator, published):
    emu, guild, bot = emulator.emu, emulator.guild, published
    spec = load_agenda(LONDON)
    _category, channels = category_channels(emu, guild.id, "The London Agenda")
    assert [c.name for c in channels] == [
        "01-economic-growth-and-development", "02-social-benefits",
        "03-international-security", "04-tackling-cyber-crime",
        "05-safe-and-reliable-access", "06-foreign-offices-7-principles",
        "07-messages-for-governments",
    ]
    items = await bot.repo.agenda.guild_items(guild.id)
    by_key = {i.key: i for i in items}
    for spec_item in spec.items:
        item = by_key[spec_item.key]
        posts = item_posts(emu, item)
        assert posts[0].pinned, spec_item.title
        assert posts[0].embeds[0]["title"] == spec_item.title
        assert posts[0].embeds[0]["description"] == spec_item.summation
        assert article_text(posts) == spec_item.body
    crime = by_key["tackling-cyber-crime"]
    threads = [c for c in emu.state.channels.values() if c.is_thread and c.parent_id == crime.channel_id]
    assert sorted(t.name for t in threads) == sorted(s.title for s in spec.items[3].items)
    for sub in spec.items[3].items:
        item = by_key[sub.key]
        assert item.thread_id in {t.id for t in threads}
        starter = emu.get_message(item.starter_message_id)
        assert starter.channel_id == crime.channel_id and starter.embeds[0]["title"] == sub.title


async def test_republishing_changes_nothing(emulator, published):
    emu = emulator.emu
    before = len(emu.requests)
    general = emu.channel_named(emulator.guild.id, "general")
    result = await publish(emu, emulator.alice.id, general.id)
    assert "0 created, 0 updated, 12 unchanged" in answer_text(result)
    writes = [r for r in emu.requests[before:]
              if r.method in ("POST", "PUT", "DELETE") and "interactions" not in r.path
              and "webhooks" not in r.path]
    writes += [r for r in emu.requests[before:] if r.method == "PATCH" and "/channels/" in r.path]
    # Only the progress message in #general (posted, then edited into the report) is written.
    progress = [r for r in writes if r.path.startswith(f"/channels/{general.id}/messages")]
    assert progress[0].method == "POST" and {r.method for r in progress[1:]} == {"PATCH"}
    assert [r for r in writes if r not in progress] == []


async def test_edited_file_updates_posts_and_keeps_revisions(emulator, published):
    emu, bot = emulator.emu, published
    data = tomllib.loads(LONDON.read_text())
    data["items"][3]["body"] = data["items"][3]["body"] + "\n\nA new closing paragraph."
    text = LONDON.read_text().replace(
        "security is one of the key criteria.", "security is one of the key criteria.\n\nA new closing paragraph.", 1
    )
    assert "A new closing paragraph." in text
    general = emu.channel_named(emulator.guild.id, "general")
    result = await publish(emu, emulator.alice.id, general.id,
                           {"file": emu.upload("london.toml", text.encode())})
    assert "1 updated" in answer_text(result)
    item = next(i for i in await bot.repo.agenda.guild_items(emulator.guild.id)
                if i.key == "tackling-cyber-crime")
    revisions = await bot.repo.agenda.revisions(item.id)
    assert len(revisions) == 2 and "A new closing paragraph." not in revisions[0].body
    posts = item_posts(emu, await bot.repo.agenda.item(item.id))
    assert article_text(posts).endswith("A new closing paragraph.")
    assert "edited" in posts[0].embeds[0]["footer"]["text"]


async def test_deleted_channel_is_recreated_not_duplicated(emulator, published):
    emu, bot = emulator.emu, published
    item = next(i for i in await bot.repo.agenda.guild_items(emulator.guild.id) if i.key == "social-benefits")
    emu.delete_channel(None, emu.channel(item.channel_id))
    general = emu.channel_named(emulator.guild.id, "general")
    result = await publish(emu, emulator.alice.id, general.id)
    assert "1 created" in answer_text(result)
    _category, channels = category_channels(emu, emulator.guild.id, "The London Agenda")
    assert [c.name for c in channels].count("02-social-benefits") == 1
    recreated = await bot.repo.agenda.item(item.id)
    assert recreated.channel_id != item.channel_id
    assert bot_posts(emu, recreated.channel_id, bot.user.id)[0].pinned


async def test_invalid_file_lists_every_problem_and_publishes_nothing(emulator, consultation_bot):
    emu = emulator.emu
    general = emu.create_text_channel(emulator.guild.id, "general")
    bad = b"""[consultation]
title = "Broken"
[[items]]
title = "A"
summation = "%s"
[[items]]
title = "B"
sumation = "typo"
related = ["nowhere"]
""" % (b"x" * 600)
    result = await emu.slash(emulator.alice.id, general.id, "agenda publish",
                             {"file": emu.upload("bad.toml", bad)})
    await finished(emu, result)
    text = answer_text(result)
    assert result.ephemeral
    assert "500" in text and "sumation" in text and "nowhere" in text
    assert "Nothing was published" in text
    assert not any(c.type == 4 for c in emu.state.channels.values())
    assert await consultation_bot.repo.agenda.guild_items(emulator.guild.id) == []


async def test_participant_cannot_publish(emulator, consultation_bot):
    emu = emulator.emu
    general = emu.create_text_channel(emulator.guild.id, "general")
    result = await emu.slash(emulator.pat.id, general.id, "agenda publish")
    await finished(emu, result)
    assert result.ephemeral and "Only organisers" in answer_text(result)
    assert await consultation_bot.repo.agenda.guild_items(emulator.guild.id) == []


async def test_long_body_is_posted_completely_and_survives_429(emulator, consultation_bot):
    emu = emulator.emu
    paragraphs = [f"Paragraph {n}: " + ("lorem ipsum dolor sit amet " * 40).strip() + "."
                  for n in range(60)]
    body = "\n\n".join(paragraphs)
    assert len(body) > 60_000
    agenda = ('[consultation]\ntitle = "Long"\n[[items]]\ntitle = "Big item"\n'
              'summation = "A very long article."\nbody = """\n' + body + '\n"""\n')
    emu.fail_next("POST", "/channels/{channel_id}/messages", status=429, retry_after=0.05, count=2)
    general = emu.create_text_channel(emulator.guild.id, "general")
    result = await publish(emu, emulator.alice.id, general.id,
                           {"file": emu.upload("long.toml", agenda.encode())})
    assert "1 created" in answer_text(result)
    (item,) = await consultation_bot.repo.agenda.guild_items(emulator.guild.id)
    posts = item_posts(emu, item)
    assert len(posts) > 1
    assert article_text(posts) == body
    assert sum(1 for r in emu.requests if r.status == 429) == 2


async def test_edit_form_stores_revision_and_updates_post(emulator, published):
    emu, bot = emulator.emu, published
    item = next(i for i in await bot.repo.agenda.guild_items(emulator.guild.id) if i.key == "social-benefits")
    result = await emu.slash(emulator.alice.id, item.channel_id, "agenda edit")
    assert result.modal is not None
    inputs = {c["custom_id"]: c for c in result.modal.inputs}
    assert len(inputs) == 3
    values = {cid: c.get("value") or "" for cid, c in inputs.items()}
    body_id = next(cid for cid, c in inputs.items() if "Body" in c.get("label", ""))
    values[body_id] = "A revised body for social benefits."
    submitted = await emu.submit_modal(emulator.alice.id, result.modal, values)
    await finished(emu, submitted)
    assert "revision 2" in answer_text(submitted)
    updated = await bot.repo.agenda.item(item.id)
    assert updated.body == "A revised body for social benefits." and updated.revision_number == 2
    posts = item_posts(emu, updated)
    assert article_text(posts) == "A revised body for social benefits."
    assert "edited" in posts[0].embeds[0]["footer"]["text"]


async def test_list_and_about(emulator, published):
    emu, bot = emulator.emu, published
    crime = next(i for i in await bot.repo.agenda.guild_items(emulator.guild.id)
                 if i.key == "tackling-cyber-crime")
    await emu.send_message(emulator.pat.id, crime.channel_id, "I support the 24/7 Network.")
    listing = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "agenda list"))
    text = answer_text(listing)
    assert listing.ephemeral and "4. Tackling cyber crime" in text and "open" in text
    await emu.wait_for(lambda: True)
    about = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "about"))
    text = answer_text(about)
    assert "Tackling cyber crime" in text and "Status" in text and "Related topics" in text
    choices = await emu.autocomplete(emulator.pat.id, crime.channel_id, "about", {"topic": "budap"},
                                     focused="topic")
    assert [c["name"] for c in choices] == ["↳ Support for the Budapest Convention on Cybercrime"]


async def test_fifty_items_show_progress_and_survive_429s(emulator, consultation_bot):
    emu = emulator.emu
    items = "".join(f'[[items]]\ntitle = "Question {n}"\nsummation = "What do you think of {n}?"\n'
                    for n in range(1, 51))
    agenda = f'[consultation]\ntitle = "Fifty"\n{items}'
    emu.fail_next("POST", "/guilds/{guild_id}/channels", status=429, retry_after=0.05, count=3)
    general = emu.create_text_channel(emulator.guild.id, "general")
    result = await publish(emu, emulator.alice.id, general.id,
                           {"file": emu.upload("fifty.toml", agenda.encode())})
    assert "50 items — 50 created, 0 updated, 0 unchanged" in answer_text(result)
    _category, channels = category_channels(emu, emulator.guild.id, "Fifty")
    assert len(channels) == 50 and channels[0].name == "01-question-1"
    # Progress is shown in a message of the bot's own in #general, not through the token.
    progress = [r.json.get("content") for r in emu.requests
                if r.method == "PATCH" and r.path.startswith(f"/channels/{general.id}/messages/")
                and r.json]
    assert any("/50:" in (text or "") for text in progress)
    assert progress[-1].startswith("Published “Fifty”: 50 items")
    assert not emu.faults  # the three injected 429s were met and retried
    assert sum(1 for r in emu.requests if r.status == 429) == 3 + len(emu.rate_limits.refusals)


async def test_add_form_creates_a_new_item_channel(emulator, published):
    emu, bot = emulator.emu, published
    general = emu.channel_named(emulator.guild.id, "general")
    refused = await emu.slash(emulator.pat.id, general.id, "agenda add")
    assert refused.modal is None and "Only organisers" in answer_text(refused)
    form = await emu.slash(emulator.alice.id, general.id, "agenda add")
    inputs = {c.get("label", ""): c["custom_id"] for c in form.modal.inputs}
    title_id = next(v for k, v in inputs.items() if k.startswith("Title"))
    summation_id = next(v for k, v in inputs.items() if k.startswith("Summation"))
    body_id = next(v for k, v in inputs.items() if k.startswith("Body"))
    done = await emu.submit_modal(emulator.alice.id, form.modal, {
        title_id: "8. Skills and education", summation_id: "Who should teach cyber hygiene?",
        body_id: "Schools, employers or governments?",
    })
    await finished(emu, done, "Added")
    item = next(i for i in await bot.repo.agenda.guild_items(emulator.guild.id)
                if i.title == "8. Skills and education")
    channel = emu.channel(item.channel_id)
    assert channel.name == "08-skills-and-education"
    assert article_text(item_posts(emu, item)) == "Schools, employers or governments?"


async def test_publish_interrupted_midway_completes_without_duplicates(emulator, consultation_bot):
    emu, bot = emulator.emu, consultation_bot
    general = emu.create_text_channel(emulator.guild.id, "general")
    # The first article post is refused (not the progress message in #general).
    emu.fail_next("POST", re.compile(rf"/channels/(?!{general.id}/)\d+/messages"), status=403)
    first = await emu.slash(emulator.alice.id, general.id, "agenda publish")
    await finished(emu, first, "Discord refused")
    assert first.ephemeral
    _category, partial = category_channels(emu, emulator.guild.id, "The London Agenda")
    assert len(partial) == 1  # the first channel exists, its article was refused
    result = await publish(emu, emulator.alice.id, general.id)
    assert "12 created" in answer_text(result)
    _category, channels = category_channels(emu, emulator.guild.id, "The London Agenda")
    assert len(channels) == 7 and channels[0].id == partial[0].id
    for item in await bot.repo.agenda.guild_items(emulator.guild.id):
        posts = item_posts(emu, item)
        assert posts and posts[0].embeds[0]["title"] == item.title


async def test_pins_need_pin_messages_and_the_hint_says_so(emulator, consultation_bot, caplog):
    """The README's invite (with Pin Messages) pins; with only Manage Messages it cannot, and
    the log names the permission that is missing."""
    import logging

    from bot.emulator import P
    from bot.emulator.state import OLD_README_INVITE_PERMISSIONS, README_INVITE_PERMISSIONS

    emu = emulator.emu
    role = emu.state.guild(emulator.guild.id).roles[emulator.guild.bot_role_id]
    assert role.permissions == README_INVITE_PERMISSIONS and role.permissions & P.PIN_MESSAGES
    emu.set_role_permissions(emulator.guild.id, emulator.guild.bot_role_id,
                             OLD_README_INVITE_PERMISSIONS)  # the old invite: Manage Messages only
    general = emu.create_text_channel(emulator.guild.id, "general")
    with caplog.at_level(logging.WARNING, logger="bot.runtime.publisher"):
        await finished(emu, await publish(emu, emulator.alice.id, general.id), "Published")
    assert "lacks the Pin Messages permission" in caplog.text
    assert not any(m.pinned for m in emu.state.messages.values())
