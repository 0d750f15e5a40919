"""The default rehearsal end to end: `python -m bot rehearse` as a newcomer runs it."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.agenda import load_agenda
from bot.rehearsal.runner import DEFAULT_AGENDA, DEFAULT_SCENARIO, Options, rehearse
from bot.rehearsal.transcript import Transcript

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The default rehearsal, played once in this process (about 10 s)."""
    out = tmp_path_factory.mktemp("rehearsal")
    transcript = Transcript(stream=None)
    outcome = asyncio.run(rehearse(Options(out=out), transcript))
    return outcome, out, transcript


def test_every_step_went_as_expected(played):
    outcome, out, transcript = played
    assert outcome.ok, outcome.failures
    assert outcome.steps > 200
    assert outcome.seconds < 60
    text = (out / "transcript.txt").read_text(encoding="utf-8")
    assert "all went as expected" in text
    assert "[#04-tackling-cyber-crime] farah: /quote" in text
    assert "  ↳ bot (only you): Posted your quote" in text
    assert "✓ refused, as expected: Discord refused: 403 160005 Thread is locked" in text


def test_every_agenda_item_has_a_channel(played):
    _outcome, out, _transcript = played
    text = (out / "transcript.txt").read_text(encoding="utf-8")
    agenda = load_agenda(DEFAULT_AGENDA)
    for position, (_path, item, _parent) in enumerate(
            [w for w in agenda.walk() if w[2] is None], start=1):
        assert f"#{position:02d}-" in text and f"← {item.key}" in text
    for _path, item, _parent in agenda.walk():
        assert (out / "summaries" / f"{item.key}.md").exists(), item.key


def test_the_summary_of_item_4_names_the_planted_themes(played):
    _outcome, out, _transcript = played
    summary = (out / "summaries" / "tackling-cyber-crime.md").read_text(encoding="utf-8")
    lowered = summary.lower()
    for phrase in ("budapest convention", "secure products", "privacy", "24/7 network",
                   "cross-border"):
        assert phrase in lowered, phrase
    # the opening reads like the seed: the 24/7 Network has very strong support
    opening = summary.split("###")[0]
    assert any("There was very strong support for" in ln and "24/7 Network" in ln
               for ln in opening.splitlines())
    assert "Opinion was divided on" in opening
    assert "Most-cited sources" in summary and "coe.int" in summary
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "budapest convention" in report.lower()


def test_the_map_is_a_png(played):
    _outcome, out, _transcript = played
    data = (out / "map.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    import matplotlib.image

    picture = matplotlib.image.imread(out / "map.png")
    assert picture.shape[0] > 100 and picture.shape[1] > 100


def test_the_export_has_every_comment_that_was_not_deleted_or_hidden(played):
    outcome, out, _transcript = played
    with (out / "data" / "comments.csv").open(encoding="utf-8") as f:
        exported = {row["message_id"]: row for row in csv.DictReader(f)}
    json_rows = json.loads((out / "data" / "comments.json").read_text(encoding="utf-8"))
    assert {r["message_id"] for r in json_rows} == set(exported)
    kept = [p for p in outcome.posted.values() if not p.deleted and not p.hidden]
    gone = [p for p in outcome.posted.values() if p.deleted or p.hidden]
    assert len(kept) > 80 and len(gone) == 2
    for p in kept:
        assert str(p.message_id) in exported, p.label
        content = exported[str(p.message_id)]["content"]
        assert content == p.text if p.kind == "message" else p.text in content, p.label
    for p in gone:
        assert str(p.message_id) not in exported, p.label
    edited = outcome.posted["sipho-typo"]
    assert "training for new contact points" in exported[str(edited.message_id)]["content"]
    posted = json.loads((out / "posted.json").read_text(encoding="utf-8"))
    assert posted["tomas-retracts"]["deleted"] and posted["spam"]["hidden"]


def test_a_failing_step_makes_the_exit_status_non_zero(tmp_path):
    scenario = tmp_path / "broken.toml"
    scenario.write_text(
        '[scenario]\ntitle = "a participant tries to export"\n\n'
        '[participants]\namara = "Amara Osei"\n\n'
        '[[steps]]\ndo = "command"\nuser = "pat"\nin = "#general"\ncommand = "export"\n\n'
        "[finale]\nsummaries = false\nmap = false\nexport = false\n",
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_PATH"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "rehearse", "--scenario", str(scenario),
         "--out", str(tmp_path / "out")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 FAILED" in done.stdout
    assert "Only organisers can export" in done.stdout


def test_a_broken_scenario_file_is_refused_with_its_problems(tmp_path):
    scenario = tmp_path / "typo.toml"
    scenario.write_text('[scenario]\ntitle = "t"\n[[steps]]\ndo = "sya"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "rehearse", "--scenario", str(scenario),
         "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "line 3, [[steps]] #1" in done.stderr and "'sya'" in done.stderr


def test_the_default_scenario_is_the_london_one():
    assert DEFAULT_SCENARIO == ROOT / "data" / "scenarios" / "london-2011.toml"


def test_the_rehearsal_writes_the_charts_and_the_html_report(played):
    _outcome, out, _transcript = played
    from PIL import Image

    chart = Image.open(out / "summaries" / "tackling-cyber-crime.png")
    chart.load()
    assert chart.format == "PNG" and chart.size[0] == 960 and 600 < chart.size[1] < 2400
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<script" not in page.lower()
    assert page.count('<img src="data:image/png;base64,') >= 2  # the map and charts
    assert "Tackling cyber crime" in page and "@media print" in page


def test_the_organiser_records_item_4s_outcome_and_the_report_shows_it(played):
    _outcome, out, _transcript = played
    report = (out / "report.md").read_text(encoding="utf-8")
    transcript = (out / "transcript.txt").read_text(encoding="utf-8")
    section = report.split("## 4. Tackling cyber crime")[1].split("\n## ")[0]
    assert "✅ Outcome: Accepted" in section and "G8 24/7 Network" in section
    assert "responds to statement “Urgent assistance across borders" in section
    # the one who opted in and wrote an answered statement was told, once, by DM
    assert transcript.count("outcome-notice:") == 1
