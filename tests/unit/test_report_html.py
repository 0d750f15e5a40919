"""report.html: the Markdown report as one self-contained page, with the map and the
charts as data: URIs, where nothing a participant wrote becomes markup, a script or a
request for anything."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

from PIL import Image

from bot.core.insight import InsightService
from bot.core.report import ReportBuilder
from bot.core.report_html import ReportPart, render_report_html
from tests.unit.test_insight_and_report import msg, seed

HOSTILE = [
    "<script>alert('x')</script> scripts must stay text",
    "<img src=https://tracker.example/pixel.png onerror=alert(1)> raw html must stay text",
    "![pixel](https://tracker.example/p.png) a markdown image must not load",
    "[click me](javascript:alert(1)) a javascript link must not be a link",
    "<a href=\"https://evil.example\" onclick=\"steal()\">raw anchor</a> must stay text",
    "<style>body{display:none}</style> styles from comments must stay text",
]
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3",
                "h4", "p", "ul", "ol", "li", "a", "em", "strong", "code", "figure", "img",
                "figcaption", "br", "hr", "blockquote"}


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.styles += tag == "style"

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    return p


async def test_report_html_escapes_everything_participants_wrote(repo):  # noqa: F811
    consultation, (crime, _security) = await seed(repo)
    for n, text in enumerate(HOSTILE * 2, start=1):
        await repo.discussion.record(crime.id, msg(n, f"{text} (point {n})", 100, n % 5, n))
    for voter in range(6):  # votes, so that there is a chart
        await repo.discussion.set_reaction(1, 900 + voter, "👍" if voter else "👎", True)
    files = await ReportBuilder(repo, InsightService(repo, ["👍"], ["👎"])).build(
        consultation, "html")
    assert set(files) == {"report.html"}
    page = files["report.html"].decode()
    parsed = parse(page)
    assert {t for t, _ in parsed.tags} <= ALLOWED_TAGS
    assert parsed.styles == 1  # ours
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")
        if tag == "a":
            assert attrs["href"].startswith("https://"), attrs
            assert "evil.example" not in attrs["href"]
    text = "".join(parsed.text)
    assert "<script>alert('x')</script> scripts must stay text" in text
    assert "tracker.example" not in " ".join(str(a) for _, a in parsed.tags)
    assert "javascript:" not in " ".join(str(a) for _, a in parsed.tags)
    images = [a["src"] for t, a in parsed.tags if t == "img"]
    assert len(images) == 2  # the map and the crime item's chart
    pictures = [Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) for src in images]
    for picture in pictures:
        picture.load()  # both decode whole
        assert min(picture.size) > 100
    assert pictures[1].size[0] == 960  # the chart at its full width
    assert page.index("Item crime") < page.index(images[1])  # the chart under its item


def test_charts_past_the_size_limit_are_left_out_and_said_so():
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 30_000
    parts = [ReportPart(f"## Item {i}\n\nText {i}.", png, chart_alt=f"chart {i}") for i in range(5)]
    page = render_report_html("Big", "", parts, max_bytes=64 * 1024 + 3 * 42_000)
    assert len(page.encode()) <= 64 * 1024 + 3 * 42_000
    assert page.count("<img ") == 3
    assert "2 charts left out" in page


def test_markdown_from_participants_never_becomes_markup_or_a_request():
    """The report's Markdown carries participants' words (excerpts, source titles): each
    hostile line, rendered, keeps its text and gains no tag but a paragraph."""
    from bot.core.report_html import markdown_html

    for text in HOSTILE:
        parsed = parse(markdown_html(text))
        tags = [t for t, _ in parsed.tags]
        assert set(tags) <= {"p", "a"}, (text, tags)
        for _tag, attrs in parsed.tags:
            assert not attrs.get("href", "").startswith("javascript")
    assert "<img" not in markdown_html("![pixel](https://tracker.example/p.png)")
    linked = parse(markdown_html("[Council of Europe](<https://www.coe.int/en/web/cybercrime>)"))
    assert linked.tags == [("p", {}), ("a", {"href": "https://www.coe.int/en/web/cybercrime"})]
