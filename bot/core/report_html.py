"""The consultation report as one self-contained HTML page (pure core).

The page is the Markdown report rendered by markdown-it (CommonMark) with raw HTML
switched off, so whatever participants wrote is escaped text, and Markdown images
switched off, so no comment can make the page fetch anything. The topic map and each
item's summary chart are embedded as ``data:`` URIs; a Content-Security-Policy forbids
scripts and every load that is not such an image. Print CSS makes it a clean PDF from a
browser's "Print → Save as PDF".
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markdown_it import MarkdownIt

__all__ = ["MAX_REPORT_BYTES", "ReportPart", "data_uri", "markdown_html", "render_report_html"]

#: the page stays well under Discord's 10 MiB upload limit: charts that would pass it
#: are left out (and the page says so)
MAX_REPORT_BYTES = 8 * 1024 * 1024

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

STYLE = """
:root { color-scheme: light; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1d1d1f; background: #fff; margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 .25rem; }
h2 { font-size: 1.5rem; margin: 2.5rem 0 .5rem; padding-top: 1rem; border-top: 2px solid #ddd; }
h3 { font-size: 1.25rem; margin: 2rem 0 .5rem; }
h4 { font-size: 1.05rem; margin: 1.5rem 0 .25rem; }
p, li { max-width: 48rem; }
li { margin: .2rem 0; }
a { color: #0b5cad; }
.meta { color: #555; margin: 0 0 1.5rem; }
figure { margin: 1.25rem 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { color: #555; font-size: .9rem; margin-top: .35rem; }
.note { color: #555; font-style: italic; }
@page { size: A4; margin: 16mm 14mm; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-before: auto; }
  h1, h2, h3, h4 { break-after: avoid; }
  figure, li { break-inside: avoid; }
  figure img { max-height: 24cm; width: auto; border: none; }
}
"""


@dataclass(frozen=True)
class ReportPart:
    """One agenda item's part of the report: its Markdown and its chart (PNG or None)."""

    markdown: str
    chart: bytes | None = None
    chart_alt: str = ""
    note: str = ""  # shown instead of a chart, e.g. why it was left out


def _md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
    md.disable("image")  # a comment must not make the page load anything
    return md


_MD = _md()


def markdown_html(text: str) -> str:
    """Markdown as HTML: raw HTML in ``text`` is escaped, images are not rendered, and
    links with unsafe schemes (javascript:, vbscript:, file:, data:) stay text."""
    return _MD.render(text)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(png: bytes, alt: str, caption: str) -> str:
    return (f'<figure><img src="{data_uri(png)}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>\n")


def _split_at_details(markdown: str) -> tuple[str, str]:
    """(the part's heading, summation, status and opening sentences; the rest from its
    first sub-heading on): the chart goes between the two."""
    lines = markdown.split("\n")
    for i, line in enumerate(lines[1:], start=1):
        if line.startswith("#"):
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return markdown, ""


def render_report_html(
    title: str,
    intro_markdown: str,
    parts: Sequence[ReportPart],
    *,
    map_png: bytes | None = None,
    outro_markdown: str = "",
    generated_at: datetime | None = None,
    max_bytes: int = MAX_REPORT_BYTES,
) -> str:
    """The whole page. ``intro_markdown``: what comes before the first item (title line
    excluded); each part's chart goes after its opening, before its detailed sections;
    ``outro_markdown`` (the method appendix) closes the page. Charts that would take
    the page past ``max_bytes`` are left out, with a note where they would have been."""
    head = (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} — consultation report</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    )
    out = [head, f"<h1>{html.escape(title)}</h1>\n"]
    when = (f"Report generated {generated_at.day} {generated_at:%B %Y, %H:%M} UTC. "
            if generated_at else "")
    out.append(f'<p class="meta">{html.escape(when)}Links open the discussion in '
               "Discord.</p>\n")
    if intro_markdown.strip():
        out.append(markdown_html(intro_markdown))
    budget = max_bytes - 64 * 1024 - sum(len(p.markdown) * 2 for p in parts)
    if map_png is not None:
        if len(map_png) * 4 // 3 < budget:
            out.append(_figure(map_png, "Map of the consultation's topics and how they relate",
                               "How the topics relate: the map of the consultation."))
            budget -= len(map_png) * 4 // 3
    left_out = 0
    for part in parts:
        opening, rest = _split_at_details(part.markdown)
        out.append(markdown_html(opening))
        if part.chart is not None and len(part.chart) * 4 // 3 < budget:
            out.append(_figure(part.chart, part.chart_alt,
                               "How people voted on the top statements, and comments per day."))
            budget -= len(part.chart) * 4 // 3
        elif part.chart is not None:
            left_out += 1
            out.append('<p class="note">Chart left out to keep this file small enough to '
                       "share; /summary in Discord shows it.</p>\n")
        elif part.note:
            out.append(f'<p class="note">{html.escape(part.note)}</p>\n')
        out.append(markdown_html(rest))
    if outro_markdown.strip():
        out.append(markdown_html(outro_markdown))
    if left_out:
        out.append(f'<p class="note">{left_out} chart{"s" if left_out != 1 else ""} left out '
                   "to keep the file under the upload limit.</p>\n")
    out.append("</main>\n</body>\n</html>\n")
    return "".join(out)
