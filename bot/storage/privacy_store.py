"""Participants' profiles, their data export and its erasure."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.storage.common import Store, from_micros, micros, parse_ts, ts
from bot.storage.discussion_store import COMMENT_KINDS
from bot.storage.feature_store import FeatureStore
from bot.storage.models import Participant, utcnow
from bot.storage.moderation_store import log_action


def pseudonym_for(user_id: int) -> str:
    """A stable, non-reversible-at-a-glance name for reports: "Participant 3f9a2c"."""
    return "Participant " + hashlib.sha256(f"participant:{user_id}".encode()).hexdigest()[:6]


def _participant(row) -> Participant:
    return Participant(
        user_id=row["user_id"], pseudonym=row["pseudonym"], display_name=row["display_name"],
        affiliation=row["affiliation"], consent_named=bool(row["consent_named"]),
        notify_outcomes=bool(row["notify_outcomes"]),
        created_at=parse_ts(row["created_at"]), updated_at=parse_ts(row["updated_at"]),
    )


def _iso(value: int | None) -> str | None:
    """A comment's time (microseconds) as the ISO-8601 text of the export."""
    return ts(from_micros(value))


class PrivacyStore(Store):
    async def participant(self, user_id: int) -> Participant | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT * FROM participants WHERE user_id = ?", (user_id,))
        return _participant(row) if row else None

    async def participants(self) -> dict[int, Participant]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall("SELECT * FROM participants")
        return {r["user_id"]: _participant(r) for r in rows}

    async def save_profile(
        self, user_id: int, *, display_name: str | None, affiliation: str | None, consent_named: bool,
        notify_outcomes: bool = False,
    ) -> Participant:
        now = ts(utcnow())
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO participants (user_id, pseudonym, display_name, affiliation,
                     consent_named, notify_outcomes, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
                     affiliation = excluded.affiliation, consent_named = excluded.consent_named,
                     notify_outcomes = excluded.notify_outcomes, updated_at = excluded.updated_at""",
                (user_id, pseudonym_for(user_id), display_name, affiliation, int(consent_named),
                 int(notify_outcomes), now, now),
            )
            row = await tx.fetchone("SELECT * FROM participants WHERE user_id = ?", (user_id,))
        return _participant(row)

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about one person, as JSON-ready data."""
        async with self.db.reading() as tx:
            profile = await tx.fetchone("SELECT * FROM participants WHERE user_id = ?", (user_id,))
            comments = await tx.fetchall(
                "SELECT * FROM comments WHERE author_id = ? ORDER BY created_at", (user_id,)
            )
            # Three queries for all of the person's comments, not three per comment: a
            # prolific participant's export must not take minutes.
            revisions: dict[int, list[dict[str, Any]]] = {}
            for r in await tx.fetchall(
                """SELECT v.comment_id, v.content, v.edited_at FROM comment_revisions v
                   JOIN comments c ON c.id = v.comment_id WHERE c.author_id = ?
                   ORDER BY v.comment_id, v.edited_at, v.id""", (user_id,)):
                revisions.setdefault(r["comment_id"], []).append(
                    {"content": r["content"], "edited_at": _iso(r["edited_at"])})
            attachments: dict[int, list[dict[str, Any]]] = {}
            for a in await tx.fetchall(
                """SELECT a.comment_id, a.filename, a.url, a.content_type FROM attachments a
                   JOIN comments c ON c.id = a.comment_id WHERE c.author_id = ?
                   ORDER BY a.id""", (user_id,)):
                attachments.setdefault(a["comment_id"], []).append(
                    {"filename": a["filename"], "url": a["url"], "content_type": a["content_type"]})
            received: dict[int, dict[str, int]] = {}
            for r in await tx.fetchall(
                """SELECT r.comment_id, r.emoji, COUNT(*) AS n FROM reactions r
                   JOIN comments c ON c.id = r.comment_id WHERE c.author_id = ?
                   GROUP BY r.comment_id, r.emoji""", (user_id,)):
                received.setdefault(r["comment_id"], {})[r["emoji"]] = r["n"]
            out_comments = [{
                "message_id": str(c["message_id"]), "item_id": c["item_id"],
                "channel_id": str(c["channel_id"]), "kind": COMMENT_KINDS[c["kind"]], "content": c["content"],
                "created_at": _iso(c["created_at"]), "edited_at": _iso(c["edited_at"]),
                "deleted_at": _iso(c["deleted_at"]), "erased_at": _iso(c["erased_at"]),
                "hidden": bool(c["hidden"]),
                "revisions": revisions.get(c["id"], []),
                "attachments": attachments.get(c["id"], []),
                "reactions_received": received.get(c["id"], {}),
            } for c in comments]
            quotes = await tx.fetchall(
                """SELECT q.item_id, c.message_id, q.passage, q.exact, q.start, q."end", q.state
                   FROM quotes q JOIN comments c ON c.id = q.comment_id WHERE c.author_id = ?
                   ORDER BY q.id""",
                (user_id,),
            )
            citations = await tx.fetchall(
                "SELECT item_id, url, normalized_url, title, note, message_id, created_at "
                "FROM citations WHERE citer_id = ? ORDER BY id",
                (user_id,),
            )
            notices = await tx.fetchall(
                "SELECT item_id, state, sent_at FROM outcome_notices WHERE user_id = ? "
                "ORDER BY item_id", (user_id,))
            reactions_given = await tx.fetchall(
                """SELECT c.message_id, r.emoji FROM reactions r JOIN comments c ON c.id = r.comment_id
                   WHERE r.user_id = ?""",
                (user_id,),
            )
        return {
            "user_id": str(user_id),
            "profile": (
                {k: profile[k] for k in ("pseudonym", "display_name", "affiliation", "created_at",
                                          "updated_at")}
                | {"consent_named": bool(profile["consent_named"]),
                   "notify_outcomes": bool(profile["notify_outcomes"])}
                if profile else None
            ),
            "comments": out_comments,
            "quotes": [
                {"item_id": q[0], "message_id": str(q[1]), "passage": q[2], "exact": q[3],
                 "start": q[4], "end": q[5], "state": q[6]} for q in quotes
            ],
            "citations": [
                {"item_id": c[0], "url": c[1], "normalized_url": c[2], "title": c[3], "note": c[4],
                 "message_id": str(c[5]), "created_at": c[6]} for c in citations
            ],
            "reactions_given": [{"message_id": str(r[0]), "emoji": r[1]} for r in reactions_given],
            # told once when an outcome answered what they said (consent: /profile notify)
            "outcome_notices": [{"item_id": n[0], "state": n[1], "sent_at": n[2]} for n in notices],
        }

    async def posts_made_for(self, user_id: int) -> list[tuple[int, int]]:
        """(channel or thread id, message id) of the bot's own posts that carry this person's
        words: their `/quote` and `/cite` posts, not yet deleted in Discord."""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT channel_id, message_id FROM comments "
                "WHERE author_id = ? AND kind <> 0 AND deleted_at IS NULL "
                "ORDER BY id",
                (user_id,),
            )
        return [(r[0], r[1]) for r in rows]

    async def erase(self, user_id: int, *, guild_id: int | None = None) -> dict[str, int]:
        """Erase a person's profile and the text they wrote; keep tombstones for counts.

        Their citations go entirely (the links, their normal forms, the link-preview titles
        and notes say what they read). Also drops cached summaries of the items they spoke
        in (those quote their words), then checkpoints the write-ahead log so the text is
        gone from disk. The bot's own posts made for them are deleted by the caller (see
        :meth:`posts_made_for`).
        """
        when = utcnow()
        now = ts(when)
        async with self.db.transaction() as tx:
            comment_rows = await tx.fetchall(
                "SELECT id, item_id FROM comments WHERE author_id = ?", (user_id,)
            )
            ids = [r["id"] for r in comment_rows]
            items = sorted({r["item_id"] for r in comment_rows})
            # (comments has no index on author_id, to stay small: the person's comments are
            # found by reading the table once, above, and then reached by their ids)
            by_id = [(i,) for i in ids]
            await tx.executemany(
                "UPDATE comments SET content = NULL, erased_at = COALESCE(erased_at, ?) "
                "WHERE id = ?",
                [(micros(when), i) for i in ids],
            )
            await FeatureStore.forget_in(tx, ids)  # derived from their text
            await tx.executemany(
                "UPDATE comment_revisions SET content = NULL WHERE comment_id = ?", by_id)
            await tx.executemany(
                "UPDATE attachments SET filename = NULL, url = NULL WHERE comment_id = ?", by_id)
            await tx.executemany("UPDATE quotes SET passage = NULL WHERE comment_id = ?", by_id)
            cur = await tx.execute("DELETE FROM citations WHERE citer_id = ?", (user_id,))
            citations = cur.rowcount
            profile = await tx.execute("DELETE FROM participants WHERE user_id = ?", (user_id,))
            await tx.execute("DELETE FROM outcome_notices WHERE user_id = ?", (user_id,))
            await tx.executemany(
                "UPDATE items SET discussion_version = discussion_version + 1 WHERE id = ?",
                [(i,) for i in items],
            )
            await tx.executemany(  # summaries re-read these comments (and drop their text)
                "UPDATE comments SET change_seq = (SELECT discussion_version FROM items "
                "WHERE items.id = comments.item_id) WHERE id = ?",
                by_id,
            )
            await tx.executemany("DELETE FROM summary_cache WHERE item_id = ?", [(i,) for i in items])
            # published summaries quote them too: the revisions stay, their text goes
            await tx.executemany("UPDATE summary_revisions SET summary = '' WHERE item_id = ?",
                                 [(i,) for i in items])
            # that an erasure happened is logged; what was erased is not
            await log_action(tx, action="erase", target_type="participant", target_id=None,
                             moderator_id=None, guild_id=guild_id, item_id=None, reason=None,
                             when=now)
        await self.db.checkpoint()
        return {"comments": len(ids), "citations": citations, "profile": profile.rowcount}
