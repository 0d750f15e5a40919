"""The consultation report (Markdown, and HTML with the map and charts) and its data
files (CSV, JSON).

Shared by `/export` and `python -m bot export`. Hidden, deleted and erased
comments are left out unless asked for; participants appear under their
pseudonym unless they consented to be named.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Literal

from bot.core.charts import chart_alt_text
from bot.core.curation import moved_since
from bot.core.insight import InsightService, SummaryResult, jump_url
from bot.core.report_html import ReportPart, render_report_html
from bot.core.summary import executive_summary, method_note
from bot.core.topic_map import render_png
from bot.core.topics import status_line
from bot.storage import Repository
from bot.storage.models import Comment, Consultation, Item, Participant, Quote
from bot.storage.privacy_store import pseudonym_for

Format = Literal["md", "html", "csv", "json", "all"]
ANNOTATION_CONTEXT = "http://www.w3.org/ns/anno.jsonld"


def snowflake_time(snowflake: int) -> datetime:
    """When a Discord id was made (ids are time-ordered: milliseconds since 2015 << 22)."""
    return datetime.fromtimestamp(((snowflake >> 22) + 1_420_070_400_000) / 1000, UTC)


def display_name(user_id: int, participants: dict[int, Participant]) -> str:
    p = participants.get(user_id)
    if p is not None and p.consent_named and p.display_name:
        return p.display_name
    return pseudonym_for(user_id)


def affiliation(user_id: int, participants: dict[int, Participant]) -> str:
    p = participants.get(user_id)
    return (p.affiliation or "") if p is not None and p.consent_named else ""


class Names(Mapping[int, str]):
    """Author id -> the name a reader of the report sees (pseudonym unless consented)."""

    def __init__(self, participants: dict[int, Participant]) -> None:
        self.participants = participants

    def __getitem__(self, user_id: int) -> str:
        return display_name(user_id, self.participants)

    def __iter__(self):
        return iter(self.participants)

    def __len__(self) -> int:
        return len(self.participants)


class ReportBuilder:
    def __init__(self, repo: Repository, insight: InsightService) -> None:
        self.repo = repo
        self.insight = insight

    async def build(
        self, consultation: Consultation, fmt: Format = "all", *, include_hidden: bool = False,
        names: dict[int, str] | None = None,
    ) -> dict[str, bytes]:
        """File name → content for the requested format(s).

        `names` are the moderators' names (from Discord) for moderation.csv; without them a
        moderator appears under their pseudonym."""
        items = await self.repo.agenda.items(consultation.id)
        participants = await self.repo.privacy.participants()
        files: dict[str, bytes] = {}
        if fmt in ("md", "html", "all"):
            parts = await self._parts(consultation, items)
            if fmt in ("md", "all"):
                files["report.md"] = _join(parts).encode()
            if fmt in ("html", "all"):
                files["report.html"] = (await self._html(consultation, parts)).encode()
        if fmt in ("csv", "json", "all"):
            # each item's comments are read once, for the comment, quote and annotation files
            comments = {item.id: await self.repo.discussion.comments(
                item.id, include_all=include_hidden) for item in items}
            quoted = await self._quoted(items, comments, include_hidden)
            tables = {
                "comments": await self.comment_rows(items, participants, comments),
                "quotes": quote_rows(quoted, participants),
                "citations": await self.citation_rows(items, participants, include_hidden),
                "moderation": await self.moderation_rows(consultation, items, participants,
                                                         names or {}),
                "outcomes": await self.outcome_rows(items),
                "opinion_groups": await self.group_rows(items, participants),
            }
            annotations = (annotation_list(quoted, participants)
                           if fmt in ("json", "all") else None)
            # 100,000 comments make tens of megabytes of text: written off the event loop
            files.update(await asyncio.to_thread(_data_files, tables, annotations, fmt))
        return files

    async def markdown(self, consultation: Consultation, items: list[Item]) -> str:
        """The report: an executive summary (totals, dates, each item's headline), each
        item's summary with quoted evidence under pseudonyms beside the Discord links, and
        one method appendix."""
        return _join(await self._parts(consultation, items))

    async def _parts(self, consultation: Consultation, items: list[Item]) -> ReportParts:
        """The report in pieces: its opening (title, description, executive summary), each
        item's Markdown with the summary it shows, and the method appendix."""
        names = Names(await self.repo.privacy.participants())
        results, notes = [], {}
        for item in items:
            live = await self.insight.summary(item, names=names, method=False)
            published = await self.insight.publication(item)
            if published is None or published.summary is None:
                results.append((item, live))
                continue
            # the organisers' published version, and where the live figures moved since
            results.append((item, await self.insight.render(item, published.summary, names=names,
                                                            method=False)))
            when = f" on {published.published_at:%d %B %Y}" if published.published_at else ""
            notes[item.id] = [f"*As published by the organisers{when} (revision "
                              f"{published.number}).*"] + [
                f"*{line}*" for line in moved_since(published.summary, live.summary)]
        intro = [f"# {consultation.title}", ""]
        if consultation.description:
            intro += [consultation.description, ""]
        outcomes = await self.repo.outcomes.latest_by_item([i.id for i in items])
        intro += ["## Executive summary", ""]
        intro += executive_summary([(item.title, r.summary) for item, r in results], names=names)
        intro.append("")
        parts = []
        for item, result in results:
            depth = "##" if item.parent_id is None else "###"
            outcome = outcomes.get(item.id)
            out = [f"{depth} {item.title}", "", f"*{item.summation}*", "",
                   f"Status: {status_line(item, outcome)} · article revision {item.revision_number}",
                   ""]
            unverified, before = await self.repo.discussion.unverified(item.id)
            if unverified:
                out += [f"*{unverified} comment{'s' if unverified != 1 else ''} posted before "
                        f"{snowflake_time(before):%Y-%m-%d %H:%M} UTC "
                        f"{'were' if unverified != 1 else 'was'} not re-checked for edits or "
                        "deletions made while the bot was last offline.*", ""]
            if outcome is not None:
                out += [f"**{outcome.headline()}** (revision {outcome.revision}, "
                        f"{outcome.created_at:%Y-%m-%d}): {outcome.text}", ""]
                out += [f"- responds to {r.kind} “{r.label}”" for r in outcome.responds_to]
                out += [""] if outcome.responds_to else []
            body = result.markdown.split("\n", 1)[1] if "\n" in result.markdown else ""
            if item.id in notes:
                out += ["\n".join(notes[item.id]), ""]
            out += [body.replace("\n### ", "\n#### ").strip(), ""]
            parts.append((item, "\n".join(out), result))
        outro = ["## Method", "", method_note(), "",
                 "Participants are quoted under a pseudonym unless they agreed to be named. "
                 "The links open the messages in the consultation's Discord server, for its "
                 "members; the quoted text is the evidence for everyone else.", ""]
        return "\n".join(intro), parts, "\n".join(outro)

    async def _html(self, consultation: Consultation, parts: ReportParts) -> str:
        """report.html: the same report with the topic map and every item's chart."""
        intro, items, outro = parts
        built, _ = await self.insight.topic_map(consultation.id)
        map_png = (await asyncio.to_thread(render_png, built, None,
                                           title="Graph of this discussion")
                   if built.topics else None)
        html_parts = []
        for item, md, result in items:
            chart = await self.insight.summary_chart(item, result)
            html_parts.append(ReportPart(md, chart,
                                         chart_alt=chart_alt_text(item.title, result.summary)))
        return await asyncio.to_thread(
            render_report_html, consultation.title, intro.split("\n", 1)[1], html_parts,
            map_png=map_png, outro_markdown=outro, generated_at=datetime.now(UTC))

    async def outcome_rows(self, items: list[Item]) -> list[dict]:
        """Every revision of every item's outcome; ``current`` marks the one in force."""
        rows = []
        for item in items:
            revisions = await self.repo.outcomes.revisions(item.id)
            for o in revisions:
                rows.append({
                    "item_key": item.key, "item_title": item.title, "revision": o.revision,
                    "current": o.revision == revisions[-1].revision, "status": o.status,
                    "status_label": o.status_label, "text": o.text,
                    "responds_to": "; ".join(f"{r.kind}: {r.label}" for r in o.responds_to),
                    "recorded_at": o.created_at.isoformat(),
                })
        return rows

    async def comment_rows(self, items: list[Item], participants,
                           comments: dict[int, list[Comment]]) -> list[dict]:
        """One row per readable comment (deleted and erased ones are never exported)."""
        votes = {item.id: await self.repo.discussion.reaction_counts(
            item.id, self.insight.agree, self.insight.disagree, self.insight.passes)
            for item in items}
        return await asyncio.to_thread(_comment_rows, items, comments, votes, participants)

    async def group_rows(self, items: list[Item], participants) -> list[dict]:
        """Who is in which opinion group, per item (as Pol.is exports it), under pseudonyms."""
        rows = []
        for item in items:
            opinion = (await self.insight.summary(item)).summary.opinion
            if opinion is None:
                continue
            for user_id, group in opinion.membership:
                rows.append({"item": item.key, "participant": display_name(user_id, participants),
                             "group": opinion.groups[group].label})
        return rows

    async def _quoted(self, items: list[Item], comments: dict[int, list[Comment]],
                      include_hidden: bool) -> list[tuple[Item, Quote, Comment]]:
        """Every quote whose comment can still be read, with its item and comment."""
        out = []
        for item in items:
            by_id = {c.id: c for c in comments[item.id]}
            for q in await self.repo.discussion.quotes(item.id, visible_only=not include_hidden):
                comment = by_id.get(q.comment_id)
                if comment is not None and comment.content is not None:
                    out.append((item, q, comment))
        return out

    async def citation_rows(self, items, participants, include_hidden: bool) -> list[dict]:
        rows = []
        for item in items:
            for c in await self.repo.discussion.citations(item.id, visible_only=not include_hidden):
                rows.append({
                    "item": item.key, "normalized_url": c.normalized_url, "url": c.url,
                    "title": c.title or "", "note": c.note or "",
                    "citer": display_name(c.citer_id, participants), "message_id": str(c.message_id),
                    "created_at": c.created_at.isoformat(),
                })
        return rows

    async def moderation_rows(self, consultation: Consultation, items: Iterable[Item],
                              participants: dict[int, Participant] | None = None,
                              names: dict[int, str] | None = None) -> list[dict]:
        """The moderation log with names and links, not Discord ids: who (the moderator's
        name, else their pseudonym; "the bot" for closing dates), what (a comment and its
        author as in the other files, an item, a thread), and a link to it."""
        by_id = {i.id: i for i in items}
        participants = participants or {}
        names = names or {}
        actions, _ = await self.repo.moderation.actions(guild_id=consultation.guild_id, limit=100_000)
        rows = []
        for a in actions:
            if a.item_id is not None and a.item_id not in by_id:
                continue
            item = by_id.get(a.item_id) if a.item_id is not None else None
            target, link = await self._moderation_target(consultation.guild_id, a, participants)
            who = (names.get(a.moderator_id) or pseudonym_for(a.moderator_id)
                   if a.moderator_id else "the bot")
            rows.append({"when": a.created_at.isoformat(), "action": a.action, "target": target,
                         "item": item.key if item else "", "item_title": item.title if item else "",
                         "link": link, "moderator": who, "reason": a.reason or ""})
        return rows

    async def _moderation_target(self, guild_id: int, a, participants) -> tuple[str, str]:
        if a.target_type == "comment" and a.target_id:
            comment = await self.repo.discussion.comment(a.target_id)
            if comment is not None:
                return (f"comment by {display_name(comment.author_id, participants)}",
                        jump_url(guild_id, comment.channel_id, comment.message_id))
            return "comment", ""
        if a.target_type in ("item", "thread") and a.target_id:
            return a.target_type, f"https://discord.com/channels/{guild_id}/{a.target_id}"
        if a.target_type == "participant":
            return "a participant's data (erased at their request)", ""
        return a.target_type, ""


def _comment_rows(items: list[Item], comments: dict[int, list[Comment]],
                  votes: dict[int, dict[int, tuple[int, int]]], participants) -> list[dict]:
    rows = []
    for item in items:
        reactions = votes[item.id]
        for c in comments[item.id]:
            if c.content is None:  # deleted or erased: never exported
                continue
            agree, disagree = reactions.get(c.id, (0, 0))
            rows.append({
                "message_id": str(c.message_id), "item": item.key, "item_title": item.title,
                "thread_id": str(c.thread_id or ""), "author": display_name(c.author_id, participants),
                "affiliation": affiliation(c.author_id, participants),
                "kind": "forward" if c.forwarded else c.kind,
                "created_at": c.created_at.isoformat(),
                "edited_at": c.edited_at.isoformat() if c.edited_at else "",
                "reply_to": str(c.reply_to_message_id or ""), "hidden": c.hidden,
                "agree": agree, "disagree": disagree, "content": c.content,
                "url": jump_url(item.guild_id, c.channel_id, c.message_id),
            })
    return rows


def quote_rows(quoted: list[tuple[Item, Quote, Comment]], participants) -> list[dict]:
    return [
        {"item": item.key, "message_id": str(q.message_id),
         "author": display_name(q.author_id, participants), "state": q.state,
         "score": q.score, "exact": q.exact or "", "passage": q.passage or "",
         "start": q.start, "end": q.end, "revision_id": q.revision_id,
         "url": jump_url(item.guild_id, comment.channel_id, q.message_id)}
        for item, q, comment in quoted
    ]


def annotation_list(quoted: list[tuple[Item, Quote, Comment]], participants) -> list[dict]:
    """Quotes as W3C Web Annotations (TextQuoteSelector + TextPositionSelector)."""
    out = []
    for item, q, comment in quoted:
        target: dict = {"source": f"urn:consultation:item:{item.key}:revision:{q.revision_id}"}
        if q.exact is not None:
            target["selector"] = [
                {"type": "TextQuoteSelector", "exact": q.exact, "prefix": q.prefix or "",
                 "suffix": q.suffix or ""},
                {"type": "TextPositionSelector", "start": q.start, "end": q.end},
            ]
        out.append({
            "@context": ANNOTATION_CONTEXT, "type": "Annotation",
            "id": f"urn:consultation:quote:{q.id}", "motivation": "commenting",
            "created": comment.created_at.isoformat(),
            "creator": {"type": "Person", "name": display_name(q.author_id, participants)},
            "body": {"type": "TextualBody", "value": comment.content, "format": "text/markdown",
                     "id": jump_url(item.guild_id, comment.channel_id, comment.message_id)},
            "target": target, "consultation:state": q.state,
        })
    return out


def _data_files(tables: dict[str, list[dict]], annotations: list[dict] | None,
                fmt: Format) -> dict[str, bytes]:
    files = {}
    for name, rows in tables.items():
        if fmt in ("csv", "all"):
            files[f"{name}.csv"] = to_csv(rows)
        if fmt in ("json", "all"):
            files[f"{name}.json"] = to_json(rows)
    if annotations is not None:
        files["quotes.annotations.json"] = to_json(annotations)
    return files


def _utf8_buffer() -> tuple[io.BytesIO, io.TextIOWrapper]:
    """A text stream that encodes as it goes. Files are built in a worker thread, and one
    `"".join(...)` or `.encode()` of a whole 40 MB file would hold the GIL, and so stall
    the event loop, for a quarter of a second; small buffered writes let it run between."""
    raw = io.BytesIO()
    return raw, io.TextIOWrapper(raw, encoding="utf-8", newline="")


def _bytes_of(raw: io.BytesIO, text: io.TextIOWrapper) -> bytes:
    text.flush()
    text.detach()  # so closing the wrapper later does not close the buffer
    return raw.getvalue()


def to_json(value) -> bytes:
    """`value` as indented UTF-8 JSON, written a chunk at a time (see `_utf8_buffer`)."""
    raw, text = _utf8_buffer()
    for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
        text.write(chunk)
    return _bytes_of(raw, text)


#: (opening Markdown, [(item, its Markdown, its summary)], method appendix)
ReportParts = tuple[str, list[tuple[Item, str, SummaryResult]], str]


def _join(parts: ReportParts) -> str:
    intro, items, outro = parts
    return "\n".join([intro, *(md for _, md, _ in items), outro]).rstrip() + "\n"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a
    leading single quote (OWASP's advice against CSV formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict]) -> bytes:
    """The rows as UTF-8 CSV, every cell safe to open in a spreadsheet, written a row at a
    time (see `_utf8_buffer`)."""
    raw, text = _utf8_buffer()
    if rows:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return _bytes_of(raw, text)
