"""/summary, /map and /export through the emulator: embeds, a readable PNG, the files."""

from __future__ import annotations

import base64
import io
import re

import matplotlib.image as mpimg
from PIL import Image

from tests.e2e.conftest import answer_files, answer_text, eventually, finished, item_by_key

ARGUMENTS = [
    "Every country should join the 24/7 Network so urgent requests get answered quickly",
    "Industry must make devices and services secure by default instead of blaming users",
    "Cross-border access to data must respect the privacy of ordinary citizens everywhere",
]


def assert_sane_png(data: bytes) -> None:
    """A PNG that decodes, readable at Discord's preview width, far below the upload limit."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()  # decodes every pixel: a truncated file fails here
    width, height = image.size
    assert 550 <= width <= 2000 and 200 <= height <= 2500 and len(data) < 1_000_000
    assert len(image.convert("L").getcolors(256 * 256) or []) > 2  # not a blank picture


async def test_summary_map_and_export(emulator, published):
    emu, bot, g = emulator.emu, published, emulator.guild
    crime = await item_by_key(bot, g.id, "tackling-cyber-crime")
    security = await item_by_key(bot, g.id, "international-security")
    people = [emulator.pat, emulator.sam, emulator.mo, emulator.alice]
    last = first = None
    for n in range(24):
        author = people[n % len(people)]
        last = await emu.send_message(author.id, crime.channel_id,
                                      f"{ARGUMENTS[n % 3]}, as I see it (point {n}).")
        first = first or last
    await emu.send_message(emulator.pat.id, crime.channel_id,
                           f"This also matters for <#{security.channel_id}>, see the discussion there.")
    await eventually(lambda: bot.repo.discussion.comment(last.id))
    voters = [emu.add_member(g.id, f"voter{i}") for i in range(6)]
    for i, voter in enumerate(voters):  # the first comment: 5 agree, 1 disagrees
        await emu.add_reaction(voter.id, first.id, "👍" if i < 5 else "👎")

    async def counted():
        c = await bot.repo.discussion.comment(first.id)
        return c and (await bot.repo.discussion.reaction_counts(crime.id, ["👍"], ["👎"])).get(
            c.id) == (5, 1)
    await eventually(counted)

    summary = await finished(emu, await emu.slash(emulator.sam.id, crime.channel_id, "summary"))
    text = answer_text(summary)
    assert "Summary" in text and "24/7" in text
    files = answer_files(summary)
    (report,) = [d.decode() for n, d in files.items() if n.endswith(".md")]
    assert "https://discord.com/channels/" in report
    assert summary.ephemeral or all(m.ephemeral for m in summary.followups)
    chart = files["summary-tackling-cyber-crime.png"]  # the voted statement's bars
    assert_sane_png(chart)
    assert "the chart and the full report are attached" in answer_text(summary)
    pngs = {a.filename: a for m in [summary.message, *summary.followups] if m
            for a in m.attachments if a.filename.endswith(".png")}
    assert set(pngs) == {"summary-tackling-cyber-crime.png",
                         "summary-tackling-cyber-crime-overview.png"}
    alt = pngs["summary-tackling-cyber-crime.png"].description
    assert alt.startswith("Chart for “4. Tackling cyber crime”. 6 votes on 1 statement.")
    assert "Most agreed" in alt and "Comments: 25 on" in alt
    overview_alt = pngs["summary-tackling-cyber-crime-overview.png"].description
    assert overview_alt.startswith("Overview for “4. Tackling cyber crime”. 6 votes on 1 ")
    assert "Most agreed" in overview_alt and "Comments" not in overview_alt
    # the overview is the embed's image, drawn for its box (4:3): Discord shows the upload
    overview = files["summary-tackling-cyber-crime-overview.png"]
    assert Image.open(io.BytesIO(overview)).size == (1200, 900)
    (embed,) = [e for m in [summary.message, *summary.followups] if m for e in m.embeds]
    assert embed["image"]["url"].endswith("/summary-tackling-cyber-crime-overview.png")

    for options in ({}, {"share": True}):  # a refusal, private or not, attaches nothing
        unknown = await finished(emu, await emu.slash(emulator.mo.id, crime.channel_id, "summary",
                                                      {"topic": "no such topic", **options}))
        assert "There is no agenda item called" in answer_text(unknown)
        assert unknown.ephemeral and answer_files(unknown) == {}

    quiet = await finished(emu, await emu.slash(emulator.sam.id, security.channel_id, "summary"))
    assert [n for n in answer_files(quiet) if n.endswith(".png")] == []  # nothing to draw
    assert "the full report is attached" in answer_text(quiet)

    cached = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "summary"))
    assert "unchanged since" in answer_text(cached)
    assert answer_files(cached)["summary-tackling-cyber-crime.png"] == chart

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
    files = answer_files(export)
    assert {"the-london-agenda-report.md", "the-london-agenda-report.html",
            "the-london-agenda-comments.csv", "the-london-agenda-quotes.annotations.json"} <= set(files)
    page = files["the-london-agenda-report.html"].decode()
    assert "<script" not in page.lower() and "Content-Security-Policy" in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2  # the map, and the chart of the one topic with a voted statement
    Image.open(io.BytesIO(base64.b64decode(images[0]))).load()  # the map decodes
    assert base64.b64decode(images[1]) == chart  # the chart /summary attached
    refused = await finished(emu, await emu.slash(emulator.pat.id, crime.channel_id, "export"))
    assert "Only organisers" in answer_text(refused)
    assert answer_files(refused) == {}
