"""The consultation report (Markdown) and its data files (CSV, JSON).

Shared by `/export` and `python -m bot export`. Hidden, deleted and erased
comments are left out unless asked for; participants appear under their
pseudonym unless they consented to be named.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Literal

from bot.core.insight import InsightService, jump_url
from bot.core.topics import status_line
from bot.storage import Repository
from bot.storage.models import Consultation, Item, Participant
from bot.storage.privacy_store import pseudonym_for

Format = Literal["md", "csv", "json", "all"]
ANNOTATION_CONTEXT = "http://www.w3.org/ns/anno.jsonld"


def display_name(user_id: int, participants: dict[int, Participant]) -> str:
    p = participants.get(user_id)
    if p is not None and p.consent_named and p.display_name:
        return p.display_name
    return pseudonym_for(user_id)


def affiliation(user_id: int, participants: dict[int, Participant]) -> str:
    p = participants.get(user_id)
    return (p.affiliation or "") if p is not None and p.consent_named else ""


class ReportBuilder:
    def __init__(self, repo: Repository, insight: InsightService) -> None:
        self.repo = repo
        self.insight = insight

    async def build(
        self, consultation: Consultation, fmt: Format = "all", *, include_hidden: bool = False
    ) -> dict[str, bytes]:
        """File name → content for the requested format(s)."""
        items = await self.repo.agenda.items(consultation.id)
        participants = await self.repo.privacy.participants()
        files: dict[str, bytes] = {}
        if fmt in ("md", "all"):
            files["report.md"] = (await self.markdown(consultation, items)).encode()
        if fmt in ("csv", "json", "all"):
            tables = {
                "comments": await self.comment_rows(items, participants, include_hidden),
                "quotes": await self.quote_rows(items, participants, include_hidden),
                "citations": await self.citation_rows(items, participants, include_hidden),
                "moderation": await self.moderation_rows(consultation, items),
                "outcomes": await self.outcome_rows(items),
            }
            for name, rows in tables.items():
                if fmt in ("csv", "all"):
                    files[f"{name}.csv"] = to_csv(rows).encode()
                if fmt in ("json", "all"):
                    files[f"{name}.json"] = json.dumps(rows, indent=2, ensure_ascii=False).encode()
            if fmt in ("json", "all"):
                files["quotes.annotations.json"] = json.dumps(
                    await self.annotations(items, participants, include_hidden), indent=2,
                    ensure_ascii=False,
                ).encode()
        return files

    async def markdown(self, consultation: Consultation, items: list[Item]) -> str:
        out = [f"# {consultation.title}", ""]
        if consultation.description:
            out += [consultation.description, ""]
        outcomes = await self.repo.outcomes.latest_by_item([i.id for i in items])
        for item in items:
            depth = "##" if item.parent_id is None else "###"
            outcome = outcomes.get(item.id)
            out += [f"{depth} {item.title}", "", f"*{item.summation}*", "",
                    f"Status: {status_line(item, outcome)} · article revision {item.revision_number}",
                    ""]
            if outcome is not None:
                out += [f"**{outcome.headline()}** (revision {outcome.revision}, "
                        f"{outcome.created_at:%Y-%m-%d}): {outcome.text}", ""]
                out += [f"- responds to {r.kind} “{r.label}”" for r in outcome.responds_to]
                out += [""] if outcome.responds_to else []
            result = await self.insight.summary(item)
            body = result.markdown.split("\n", 1)[1] if "\n" in result.markdown else ""
            out += [body.replace("\n### ", "\n#### ").strip(), ""]
        return "\n".join(out).rstrip() + "\n"

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

    async def comment_rows(self, items: list[Item], participants, include_hidden: bool) -> list[dict]:
        rows = []
        for item in items:
            reactions = await self.repo.discussion.reaction_counts(
                item.id, self.insight.agree, self.insight.disagree)
            for c in await self.repo.discussion.comments(item.id, include_all=include_hidden):
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

    async def _quotes(self, items: list[Item], include_hidden: bool):
        for item in items:
            comments = {c.id: c for c in await self.repo.discussion.comments(item.id, include_all=include_hidden)}
            for q in await self.repo.discussion.quotes(item.id, visible_only=not include_hidden):
                comment = comments.get(q.comment_id)
                if comment is not None and comment.content is not None:
                    yield item, q, comment

    async def quote_rows(self, items, participants, include_hidden: bool) -> list[dict]:
        return [
            {"item": item.key, "message_id": str(q.message_id),
             "author": display_name(q.author_id, participants), "state": q.state,
             "score": q.score, "exact": q.exact or "", "passage": q.passage or "",
             "start": q.start, "end": q.end, "revision_id": q.revision_id,
             "url": jump_url(item.guild_id, comment.channel_id, q.message_id)}
            async for item, q, comment in self._quotes(items, include_hidden)
        ]

    async def annotations(self, items, participants, include_hidden: bool) -> list[dict]:
        """Quotes as W3C Web Annotations (TextQuoteSelector + TextPositionSelector)."""
        out = []
        async for item, q, comment in self._quotes(items, include_hidden):
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

    async def moderation_rows(self, consultation: Consultation, items: Iterable[Item]) -> list[dict]:
        keys = {i.id: i.key for i in items}
        actions, _ = await self.repo.moderation.actions(guild_id=consultation.guild_id, limit=100_000)
        return [
            {"when": a.created_at.isoformat(), "action": a.action, "target_type": a.target_type,
             "target_id": str(a.target_id or ""), "item": keys.get(a.item_id, ""),
             "moderator_id": str(a.moderator_id or ""), "reason": a.reason or ""}
            for a in actions if a.item_id is None or a.item_id in keys
        ]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A cell a spreadsheet will not run: text starting with = + - @ tab or CR gets a
    leading single quote (OWASP's advice against CSV formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()
