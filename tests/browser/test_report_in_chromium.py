"""report.html in a real browser (Debian's Chromium, headless): the page renders, its
pictures load and show, and it prints to PDF.

Skipped when Chromium is not installed: `apt-get install -y chromium` (.ci/run does it).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.core.charts import AGREE, DISAGREE
from bot.core.insight import InsightService
from bot.core.report import ReportBuilder
from tests.unit.test_insight_and_report import THEMES, msg, seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: "
                       "apt-get install -y --no-install-recommends chromium)"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars"]
IMG = re.compile(r'<img\b[^>]*\bsrc="(data:image/png;base64,[^"]+)"')


def chromium(tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args, url],
        capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


@pytest.fixture
async def report(repo, tmp_path):  # noqa: F811
    """A generated consultation's report.html: two items, comments over five days, one
    item's statements voted on by eight people."""
    consultation, (crime, security) = await seed(repo)
    mid = 0
    for day in range(5):
        for theme, sentence in THEMES.items():
            mid += 1
            await repo.discussion.record(crime.id, msg(mid, f"{sentence}, said on day {day} "
                                                       f"about {theme}.", 100, mid % 6,
                                                       minutes=day * 1440 + mid))
    await repo.discussion.record(security.id, msg(999, "Norms for states in cyberspace.", 101, 3))
    for message in range(1, 7):
        for voter in range(8):
            agree = voter < (7 if message % 3 else 2)  # two statements rejected, four agreed
            await repo.discussion.set_reaction(message, 500 + voter, "👍" if agree else "👎", True)
    files = await ReportBuilder(repo, InsightService(repo, ["👍"], ["👎"])).build(
        consultation, "html")
    path = tmp_path / "report.html"
    path.write_bytes(files["report.html"])
    return path


def near(image: Image.Image, colour: str, tolerance: int = 12) -> int:
    """Pixels within ``tolerance`` of ``colour`` on every channel."""
    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    px = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(px - target) <= tolerance).all(axis=2).sum())


def test_report_renders_with_its_pictures(report, tmp_path):
    shot = tmp_path / "report.png"
    chromium(tmp_path, report.as_uri(), f"--screenshot={shot}", "--window-size=1200,3000")
    assert shot.exists()
    image = Image.open(shot)
    assert image.size == (1200, 3000)
    ink = int((np.asarray(image.convert("L")) < 200).sum())
    assert ink > 0.02 * 1200 * 3000  # not a blank page: text and pictures
    # the chart's bars are on the screen: its blue and vermillion occur only in the chart
    assert near(image, AGREE) > 1500
    assert near(image, DISAGREE) > 300


def test_every_image_loads_in_the_browser(report, tmp_path):
    """Chromium's own DOM of the page has every picture; a check page with those same
    data: URIs, under the report's image policy, reports each one's decoded size."""
    source = report.read_text(encoding="utf-8")
    dom = chromium(tmp_path, report.as_uri(), "--dump-dom").stdout.decode()
    ours, parsed = IMG.findall(source), IMG.findall(dom)
    assert len(ours) == 2 and parsed == ours  # the map and the crime item's chart
    assert "<script" not in dom.lower()
    imgs = "".join(f'<img src="{html.escape(src)}">' for src in parsed)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', source)
    assert policy, "the report declares its content security policy"
    img_src = re.search(r"img-src [^;]*", html.unescape(policy.group(1))).group(0)
    check = tmp_path / "check.html"
    check.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        f"{img_src}; script-src 'unsafe-inline'\"></head><body>" + imgs +
        "<pre id='result'></pre><script>window.addEventListener('load', () => {"
        "document.getElementById('result').textContent = JSON.stringify("
        "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]));"
        "});</script></body></html>", encoding="utf-8")
    checked = chromium(tmp_path, check.as_uri(), "--dump-dom", "--virtual-time-budget=10000")
    result = re.search(r"<pre id=\"result\">(.*?)</pre>", checked.stdout.decode(), re.S)
    assert result, checked.stdout.decode()[-500:]
    loaded = json.loads(html.unescape(result.group(1)))
    expected = [Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).size
                for src in parsed]
    assert [(w, h) for _, w, h in loaded] == expected
    assert all(done and w > 0 for done, w, _ in loaded)


def test_report_prints_to_pdf_with_its_pictures(report, tmp_path):
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path, report.as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2
    assert data.count(b"/Subtype /Image") >= 2
