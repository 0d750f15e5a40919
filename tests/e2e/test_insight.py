"""/summary, /map and /export through the emulator: embeds, a readable PNG, the files."""

from __future__ import annotations

import io

import matplotlib.image as mpimg

from tests.e2e.conftest import answer_files, answer_text, eventually, finished, item_by_key

ARGUMENTS = [
    "Every country should join the 24/7 Network so urgent requests get answered quickly",
    "Industry must make devices and services secure by default instead of blaming users",
    "Cross-border access to data must respect the privacy of ordinary citizens everywhere",
]


async def test_summary_map_and_export(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    security = await item_by_key(bot, g.id, "international-security")
    people = [emulator.pat, emulator.sam, emulator.mo, emulator.alice]
    last = None
    for n in range(24):
        author = people[n % len(people)]
        last = await emu.send_message(author.id, crime.channel_id,
                                      f"{ARGUMENTS[n % 3]}, as I see it (point {n}).")
    await emu.send_message(emulator.pat.id, crime.channel_id,
                           f"This also matters for <#{security.channel_id}>, see the discussion there.")
    await eventually(lambda: bot.repo.discussion.comment(last.id))

    summary = await finished(emu, await emu.slash(emulator.sam.id, crime.channel_id, "summary"))
    text = answer_text(summary)
    assert "Summary" in text and "24/7" in text
    (report,) = [d.decode() for n, d in answer_files(summary).items() if n.endswith(".md")]
    assert "https://discord.com/channels/" in report
    assert summary.ephemeral or all(m.ephemeral for m in summary.followups)

    cached = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "summary"))
    assert "unchanged since" in answer_text(cached)

    whole = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "map"),
                           "Graph of this discussion")
    (public,) = whole.followups  # the private "thinking…" says where; the map is for everyone
    assert not public.ephemeral and whole.message.ephemeral
    png = answer_files(whole)["map.png"]
    image = mpimg.imread(io.BytesIO(png), format="png")
    assert image.shape[0] > 200 and image.shape[1] > 200
    assert "Graph of this discussion" in answer_text(whole)

    focused = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "map",
                                                  {"topic": str(crime.id)}), "Related topics of")
    assert "International security" in answer_text(focused)
    about = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "about"))
    assert "International security" in answer_text(about)

    export = await finished(emu, await emu.slash(emulator.alice.id, crime.channel_id, "export"))
    # more than 10 files come in two messages: wait for the last file
    await emu.wait_for(lambda: "the-london-agenda-quotes.annotations.json" in answer_files(export))
    names = set(answer_files(export))
    assert {"the-london-agenda-report.md", "the-london-agenda-comments.csv",
            "the-london-agenda-quotes.annotations.json"} <= names
    refused = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "export"))
    assert "Only organisers" in answer_text(refused)
