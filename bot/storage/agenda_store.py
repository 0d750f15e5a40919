"""Consultations, agenda items, their revisions, relations and Discord places."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.storage.common import Store, parse_ts, ts
from bot.storage.database import Transaction
from bot.storage.models import Consultation, Item, Revision, utcnow

_ITEM_SELECT = """
SELECT i.id, i.consultation_id, c.guild_id, i.key, i.parent_id, i.position, i.closes_at,
       i.created_at, i.last_activity_at, i.discussion_version,
       r.id AS revision_id, r.number AS revision_number, r.title, r.summation, r.body,
       r.created_at AS revision_created_at,
       p.channel_id, p.thread_id, p.starter_message_id, p.post_message_ids, p.post_fingerprint,
       l.target_id AS lock_target, l.reason AS lock_reason
FROM items i
JOIN consultations c ON c.id = i.consultation_id
JOIN item_revisions r ON r.item_id = i.id
     AND r.number = (SELECT MAX(number) FROM item_revisions WHERE item_id = i.id)
LEFT JOIN places p ON p.item_id = i.id
LEFT JOIN locks l ON l.item_id = i.id
     AND (l.scope = 'item' OR l.target_id = p.thread_id)  -- a sub-item's own thread
"""

_ITEM_AT = _ITEM_SELECT + """ WHERE i.id = COALESCE(
    (SELECT item_id FROM places WHERE thread_id = ?),
    (SELECT item_id FROM places WHERE channel_id = ? AND thread_id IS NULL),
    (SELECT item_id FROM channel_cursors WHERE channel_id = ?))"""  # noqa: S608 - constants


def _item(row) -> Item:
    return Item(
        id=row["id"],
        consultation_id=row["consultation_id"],
        guild_id=row["guild_id"],
        key=row["key"],
        parent_id=row["parent_id"],
        position=row["position"],
        closes_at=parse_ts(row["closes_at"]),
        created_at=parse_ts(row["created_at"]),
        last_activity_at=parse_ts(row["last_activity_at"]),
        discussion_version=row["discussion_version"],
        revision_id=row["revision_id"],
        revision_number=row["revision_number"],
        title=row["title"],
        summation=row["summation"],
        body=row["body"],
        edited_at=parse_ts(row["revision_created_at"]) if row["revision_number"] > 1 else None,
        channel_id=row["channel_id"],
        thread_id=row["thread_id"],
        starter_message_id=row["starter_message_id"],
        post_message_ids=json.loads(row["post_message_ids"] or "[]"),
        post_fingerprint=row["post_fingerprint"],
        locked=row["lock_target"] is not None,
        lock_reason=row["lock_reason"],
    )


def _consultation(row) -> Consultation:
    return Consultation(
        id=row["id"],
        guild_id=row["guild_id"],
        key=row["key"],
        title=row["title"],
        description=row["description"],
        category_id=row["category_id"],
        created_at=parse_ts(row["created_at"]),
    )


def _revision(row) -> Revision:
    return Revision(
        id=row["id"],
        item_id=row["item_id"],
        number=row["number"],
        title=row["title"],
        summation=row["summation"],
        body=row["body"],
        author_id=row["author_id"],
        created_at=parse_ts(row["created_at"]),
    )


class AgendaStore(Store):
    # --- consultations -------------------------------------------------------------------

    async def upsert_consultation(
        self, guild_id: int, key: str, title: str, description: str
    ) -> Consultation:
        now = ts(utcnow())
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO consultations (guild_id, key, title, description, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (guild_id, key) DO UPDATE SET
                     title = excluded.title, description = excluded.description,
                     updated_at = excluded.updated_at
                   WHERE title != excluded.title OR description != excluded.description""",
                (guild_id, key, title, description, now, now),
            )
            row = await tx.fetchone(
                "SELECT * FROM consultations WHERE guild_id = ? AND key = ?", (guild_id, key)
            )
        return _consultation(row)

    async def set_category(self, consultation_id: int, category_id: int | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE consultations SET category_id = ? WHERE id = ?", (category_id, consultation_id)
            )

    async def consultations(self, guild_id: int | None) -> list[Consultation]:
        """A server's consultations, oldest first (every server's with `None`)."""
        async with self.db.reading() as tx:
            if guild_id is None:
                rows = await tx.fetchall("SELECT * FROM consultations ORDER BY id")
            else:
                rows = await tx.fetchall(
                    "SELECT * FROM consultations WHERE guild_id = ? ORDER BY id", (guild_id,)
                )
        return [_consultation(r) for r in rows]

    async def consultation(self, consultation_id: int) -> Consultation | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT * FROM consultations WHERE id = ?", (consultation_id,))
        return _consultation(row) if row else None

    # --- items ---------------------------------------------------------------------------

    async def upsert_item(
        self,
        consultation_id: int,
        key: str,
        *,
        parent_id: int | None,
        position: int,
        title: str,
        summation: str,
        body: str,
        closes_at: datetime | None = None,
        author_id: int | None = None,
    ) -> tuple[Item, bool]:
        """Create the item, or update it; a changed text becomes a new revision.

        Returns the item and whether its article text changed.
        """
        now = ts(utcnow())
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id FROM items WHERE consultation_id = ? AND key = ?", (consultation_id, key)
            )
            if row is None:
                item_id = await tx.insert(
                    """INSERT INTO items (consultation_id, key, parent_id, position, closes_at, created_at)
                       VALUES (?, ?, ?, ?, ?, ?)""",
                    (consultation_id, key, parent_id, position, ts(closes_at), now),
                )
            else:
                item_id = row["id"]
                await tx.execute(
                    "UPDATE items SET parent_id = ?, position = ?, closes_at = ? WHERE id = ?",
                    (parent_id, position, ts(closes_at), item_id),
                )
            changed = await self._add_revision_if_changed(
                tx, item_id, title, summation, body, author_id
            )
            item = _item(await tx.fetchone(_ITEM_SELECT + " WHERE i.id = ?", (item_id,)))
        return item, changed

    async def add_revision(
        self, item_id: int, *, title: str, summation: str, body: str, author_id: int | None
    ) -> tuple[Item, bool]:
        """Store an edit of the article as a new revision (earlier ones stay)."""
        async with self.db.transaction() as tx:
            changed = await self._add_revision_if_changed(
                tx, item_id, title, summation, body, author_id
            )
            item = _item(await tx.fetchone(_ITEM_SELECT + " WHERE i.id = ?", (item_id,)))
        return item, changed

    @staticmethod
    async def _add_revision_if_changed(
        tx: Transaction, item_id: int, title: str, summation: str, body: str, author_id: int | None
    ) -> bool:
        last = await tx.fetchone(
            "SELECT number, title, summation, body FROM item_revisions "
            "WHERE item_id = ? ORDER BY number DESC LIMIT 1",
            (item_id,),
        )
        if last and (last["title"], last["summation"], last["body"]) == (title, summation, body):
            return False
        await tx.execute(
            """INSERT INTO item_revisions (item_id, number, title, summation, body, author_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (item_id, (last["number"] + 1) if last else 1, title, summation, body, author_id,
             ts(utcnow())),
        )
        return last is not None

    async def set_relations(self, item_id: int, related_ids: Sequence[int]) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM item_relations WHERE item_id = ?", (item_id,))
            await tx.executemany(
                "INSERT OR IGNORE INTO item_relations (item_id, related_id) VALUES (?, ?)",
                [(item_id, r) for r in related_ids if r != item_id],
            )

    async def delete_item(self, item_id: int) -> None:
        """Forget an item (its revisions, relations and place go with it)."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM items WHERE id = ?", (item_id,))

    async def relations(self, consultation_id: int) -> list[tuple[int, int]]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                """SELECT r.item_id, r.related_id FROM item_relations r
                   JOIN items i ON i.id = r.item_id WHERE i.consultation_id = ?""",
                (consultation_id,),
            )
        return [(r[0], r[1]) for r in rows]

    async def item(self, item_id: int) -> Item | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone(_ITEM_SELECT + " WHERE i.id = ?", (item_id,))
        return _item(row) if row else None

    async def items(self, consultation_id: int) -> list[Item]:
        """Items in agenda order: each top-level item followed by its sub-items."""
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                _ITEM_SELECT + " WHERE i.consultation_id = ?", (consultation_id,)
            )
        items = [_item(r) for r in rows]
        top = sorted((i for i in items if i.parent_id is None), key=lambda i: (i.position, i.id))
        ordered: list[Item] = []
        for parent in top:
            ordered.append(parent)
            ordered.extend(
                sorted((i for i in items if i.parent_id == parent.id), key=lambda i: (i.position, i.id))
            )
        return ordered

    async def guild_items(self, guild_id: int) -> list[Item]:
        out: list[Item] = []
        for consultation in await self.consultations(guild_id):
            out.extend(await self.items(consultation.id))
        return out

    async def all_items(self) -> list[Item]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(_ITEM_SELECT + " ORDER BY i.consultation_id, i.id")
        return [_item(r) for r in rows]

    async def item_at(self, channel_id: int) -> Item | None:
        """The item whose channel or thread this is (a sub-item's thread wins over its channel)."""
        # One statement (every live message asks): the sub-item's thread, else the item's
        # channel, else a participant's thread inside an item channel (followed).
        row = await self.db.read_one(_ITEM_AT, (channel_id, channel_id, channel_id))
        return _item(row) if row else None

    async def revisions(self, item_id: int) -> list[Revision]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM item_revisions WHERE item_id = ? ORDER BY number", (item_id,)
            )
        return [_revision(r) for r in rows]

    async def revision(self, revision_id: int) -> Revision | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT * FROM item_revisions WHERE id = ?", (revision_id,))
        return _revision(row) if row else None

    # --- places --------------------------------------------------------------------------

    async def save_place(
        self,
        item_id: int,
        *,
        channel_id: int,
        thread_id: int | None = None,
        starter_message_id: int | None = None,
        post_message_ids: Sequence[int] = (),
        post_fingerprint: str | None = None,
    ) -> None:
        """Record where the item lives; the channel/thread is followed for comments."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO places (item_id, channel_id, thread_id, starter_message_id,
                                       post_message_ids, post_fingerprint, published_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (item_id) DO UPDATE SET
                     channel_id = excluded.channel_id, thread_id = excluded.thread_id,
                     starter_message_id = excluded.starter_message_id,
                     post_message_ids = excluded.post_message_ids,
                     post_fingerprint = excluded.post_fingerprint""",
                (item_id, channel_id, thread_id, starter_message_id,
                 json.dumps(list(post_message_ids)), post_fingerprint, ts(utcnow())),
            )
            followed = thread_id or channel_id
            await tx.execute(
                """INSERT INTO channel_cursors (channel_id, item_id, parent_id) VALUES (?, ?, ?)
                   ON CONFLICT (channel_id) DO UPDATE SET item_id = excluded.item_id,
                     parent_id = excluded.parent_id""",
                (followed, item_id, channel_id if thread_id else None),
            )

    async def consultation_version(self, consultation_id: int) -> tuple[int, int, int]:
        """Changes whenever any item, article or discussion of the consultation changes."""
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                """SELECT COALESCE(SUM(i.discussion_version), 0), COUNT(*),
                          (SELECT COALESCE(MAX(r.id), 0) FROM item_revisions r
                           JOIN items j ON j.id = r.item_id WHERE j.consultation_id = ?)
                   FROM items i WHERE i.consultation_id = ?""",
                (consultation_id, consultation_id),
            )
            locks = await tx.fetchone(
                "SELECT COUNT(*) FROM locks l JOIN items i ON i.id = l.item_id "
                "WHERE i.consultation_id = ?",
                (consultation_id,),
            )
        return (row[0], row[1], row[2] * 1000 + locks[0])
