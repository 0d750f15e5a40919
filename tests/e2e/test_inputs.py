"""Bad input end to end: odd digits, invisible names and titles, a TOML nesting bomb."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.core.agenda import AgendaInvalid, load_agenda
from tests.e2e.conftest import ROOT, answer_text, finished, item_by_key


async def run(emu, user_id, channel_id, command, options=None):
    return await finished(emu, await emu.slash(user_id, channel_id, command, options or {}))


@pytest.mark.parametrize("typed", ["²", "①", "¹²", "４", "٣", "s²"])
async def test_topic_lookup_accepts_ascii_digits_only(emulator, published, typed):
    emu, bot, g = emulator.emu, published, emulator.guild
    general = emu.channel_named(g.id, "general")
    for command, options in (("about", {"topic": typed}), ("citations", {"topic": typed})):
        result = await run(emu, emulator.pat.id, general.id, command, options)
        text = answer_text(result)
        assert result.ephemeral and "went wrong" not in text, text
        assert "no agenda item called" in text, text
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    quoted = await run(emu, emulator.pat.id, crime.channel_id, "quote",
                       {"passage": typed, "comment": "x"})
    assert "went wrong" not in answer_text(quoted)
    # the ASCII id still works
    ok = await run(emu, emulator.pat.id, general.id, "about", {"topic": str(crime.id)})
    assert crime.title in answer_text(ok)


BAD_NAMES = {
    "   ": "blank",
    "\u200b\u200b": "invisible",
    "\u3164": "invisible",
    "Pat\u202eelpmaxE": "direction",
    "Pat\u0007": "control",
}


@pytest.mark.parametrize("name", list(BAD_NAMES))
async def test_profile_refuses_blank_invisible_control_and_bidi_names(emulator, published, name):
    emu, bot, g = emulator.emu, published, emulator.guild
    general = emu.channel_named(g.id, "general")
    result = await run(emu, emulator.pat.id, general.id, "profile", {"display_name": name})
    assert result.ephemeral and BAD_NAMES[name] in answer_text(result), answer_text(result)
    assert await bot.repo.privacy.participant(emulator.pat.id) is None  # nothing saved
    view = await run(emu, emulator.pat.id, general.id, "profile")
    assert "went wrong" not in answer_text(view)


@pytest.mark.parametrize("title", ["\u200b", "Skills\u202e", " \u2060 "])
async def test_agenda_add_refuses_invisible_and_bidi_titles(emulator, published, title):
    emu, bot, g = emulator.emu, published, emulator.guild
    general = emu.channel_named(g.id, "general")
    before = len(await bot.repo.agenda.guild_items(g.id))
    form = await emu.slash(emulator.alice.id, general.id, "agenda add")
    inputs = {c.get("label", ""): c["custom_id"] for c in form.modal.inputs}
    title_id = next(v for k, v in inputs.items() if k.startswith("Title"))
    summation_id = next(v for k, v in inputs.items() if k.startswith("Summation"))
    done = await finished(emu, await emu.submit_modal(emulator.alice.id, form.modal, {
        title_id: title, summation_id: "Who should teach cyber hygiene?"}))
    text = answer_text(done)
    assert done.ephemeral and "title" in text and ("invisible" in text or "direction" in text), text
    assert len(await bot.repo.agenda.guild_items(g.id)) == before


NESTING_BOMB = "a = " + "[" * 4000 + "]" * 4000 + "\n"


def test_toml_nesting_bomb_is_one_agenda_problem(tmp_path):
    with pytest.raises(AgendaInvalid) as caught:
        load_agenda(NESTING_BOMB)
    (problem,) = caught.value.problems
    assert "nest" in problem.message
    path = tmp_path / "bomb.toml"
    path.write_text(NESTING_BOMB)
    done = subprocess.run([sys.executable, "-m", "bot", "check-agenda", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "DISCORD_TOKEN": ""})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "nest" in done.stderr, done.stderr


async def test_cite_refuses_spoofed_hosts_and_folds_variants_into_one_source(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    posts_before = len(emu.messages_in(crime.channel_id))
    for spoof, says in (("https://\u0430pple.com/", "xn--pple-43d.com"),
                        ("https://example\u3002org/", "dot"),
                        ("https://exa\u00admple.org/", "invisible"),
                        ("https://example.org/\u202egnp.exe", "direction")):
        result = await run(emu, emulator.pat.id, crime.channel_id, "cite", {"url": spoof})
        text = answer_text(result)
        assert result.ephemeral and "cannot be cited" in text and says in text, text
    assert len(emu.messages_in(crime.channel_id)) == posts_before  # nothing posted
    assert await bot.repo.discussion.sources(crime.id) == []

    for user, url in ((emulator.pat, "www.example.org/report"),
                      (emulator.sam, "https://example.org/report/")):
        result = await run(emu, user.id, crime.channel_id, "cite", {"url": url})
        assert "Cited" in answer_text(result), answer_text(result)
    (source,) = await bot.repo.discussion.sources(crime.id)
    assert source.citer_count == 2 and source.normalized_url == "https://example.org/report"
    first = emu.get_message(source.citations[0].message_id)
    assert first.content == "https://www.example.org/report"  # a link Discord makes clickable


async def test_cite_of_a_2048_character_url_posts_once_and_confirms(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    url = "https://example.org/" + "a" * (2048 - len("https://example.org/"))
    result = await run(emu, emulator.pat.id, crime.channel_id, "cite",
                       {"url": url, "note": "n" * 1000})
    text = answer_text(result)
    assert result.ephemeral and "Cited" in text and not result.errors, text
    (source,) = await bot.repo.discussion.sources(crime.id)
    assert len(source.citations) == 1
    post = emu.get_message(source.citations[0].message_id)
    shown = (post.content or "") + "".join(e.get("description") or "" for e in post.embeds)
    assert url in shown  # the whole address, not a cut one


async def test_cite_of_an_international_name_shows_the_host_a_browser_opens(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    result = await run(emu, emulator.pat.id, crime.channel_id, "cite",
                       {"url": "https://münchen.de/rathaus"})
    assert "Cited https://xn--mnchen-3ya.de/rathaus" in answer_text(result)
    post = [m for m in emu.messages_in(crime.channel_id) if m.author_id == bot.user.id][-1]
    assert post.embeds[0]["footer"]["text"] == "Opens xn--mnchen-3ya.de"


async def test_topic_autocomplete_forgives_typos(emulator, published):
    emu, g = emulator.emu, emulator.guild
    general = emu.channel_named(g.id, "general")
    for typed, wanted in (("budpest", "↳ Support for the Budapest Convention on Cybercrime"),
                          ("secuirty", "3. International security"),
                          ("cybr crime", "4. Tackling cyber crime")):
        choices = await emu.autocomplete(emulator.pat.id, general.id, "about", {"topic": typed},
                                         focused="topic")
        assert wanted in [c["name"] for c in choices], (typed, choices)
    nothing = await emu.autocomplete(emulator.pat.id, general.id, "about", {"topic": "zzqx"},
                                     focused="topic")
    assert nothing == []
