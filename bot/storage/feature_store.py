"""Per-comment text features persisted at ingestion (see ``bot.core.summary.FeatureRows``).

Rows are read back on a lean path: plain tuples of (id, hash, dup key, flags, blob) in
keyset pages, no model per row; the caller turns the blobs into arrays off the loop.
Features are derived from a comment's text, so every path that changes or erases the
text removes them in its own transaction (:meth:`FeatureStore.forget_in`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from bot.storage.common import Store
from bot.storage.database import Transaction

PAGE = 50_000  # rows per read: other readers get the connection between pages

# A comment whose features may be computed: its text is there.
_HAS_TEXT = "c.content IS NOT NULL AND c.deleted_at IS NULL AND c.erased_at IS NULL"


class FeatureStore(Store):
    # --- writing ------------------------------------------------------------------------

    async def save(self, rows: Sequence[tuple[int, int, int, int, int, bytes, str]]) -> int:
        """Store features: (item id, comment id, content hash, dup key, flags, blob, the text
        they were computed from). A row is kept only if the comment still has that text,
        so features computed from a text edited or erased meanwhile are never stored.
        Returns how many were stored."""
        if not rows:
            return 0
        async with self.db.transaction() as tx:
            return await tx.executemany(
                """INSERT INTO comment_features (item_id, comment_id, content_hash, dup_key,
                     flags, features)
                   SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (
                     SELECT 1 FROM comments c WHERE c.id = ? AND c.item_id = ?
                       AND c.content = ? AND c.deleted_at IS NULL AND c.erased_at IS NULL)
                   ON CONFLICT (item_id, comment_id) DO UPDATE SET
                     content_hash = excluded.content_hash, dup_key = excluded.dup_key,
                     flags = excluded.flags, features = excluded.features""",
                [(item, cid, h, dup, flags, blob, cid, item, text)
                 for item, cid, h, dup, flags, blob, text in rows],
            )

    @staticmethod
    async def forget_in(tx: Transaction, comment_ids: Iterable[int]) -> None:
        """Inside a transaction that changes or erases these comments' text: drop their
        features (derived data of that text)."""
        await tx.executemany(
            "DELETE FROM comment_features WHERE item_id = "
            "(SELECT item_id FROM comments WHERE id = ?) AND comment_id = ?",
            [(cid, cid) for cid in comment_ids],
        )

    @staticmethod
    async def forget_author_in(tx: Transaction, user_id: int) -> None:
        """Inside the erasure of a person's words: drop the features of all of them."""
        await tx.execute(
            "DELETE FROM comment_features WHERE (item_id, comment_id) IN "
            "(SELECT item_id, id FROM comments WHERE author_id = ?)",
            (user_id,),
        )

    async def clear(self) -> None:
        """Drop every row (features computed by another version of the tokeniser)."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM comment_features")

    async def version(self) -> str | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT value FROM meta WHERE key = 'features_version'")
        return row[0] if row else None

    async def set_version(self, version: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO meta (key, value) VALUES ('features_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (version,),
            )

    async def convert_page(self, from_version: str, to_version: str,
                           convert: Callable[[list], list[tuple[int, bytes]]],
                           limit: int = 10_000) -> int:
        """One step of converting the rows stored in an older format (``from_version``), in
        one transaction: the ``limit`` rows after the progress mark, as (item id, comment
        id, content hash, blob), become what ``convert`` makes of them, one (content hash,
        blob) each. The last step sets ``to_version``. Returns how many rows it converted
        (fewer than ``limit``: done). A restart resumes after the mark; a second process
        waits on the mark's row lock, then sees how far the first got."""
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('features_converted', '') "
                             "ON CONFLICT (key) DO NOTHING")
            await tx.execute("UPDATE meta SET value = value WHERE key = 'features_converted'")
            version = await tx.fetchone("SELECT value FROM meta WHERE key = 'features_version'")
            if version is None or version[0] != from_version:  # (converted meanwhile)
                await tx.execute("DELETE FROM meta WHERE key = 'features_converted'")
                return 0
            mark = (await tx.fetchone(
                "SELECT value FROM meta WHERE key = 'features_converted'"))[0]
            item_id, comment_id = map(int, mark.split(":")) if mark else (-1, -1)
            rows = await tx.fetchall(
                "SELECT item_id, comment_id, content_hash, features FROM comment_features "
                "WHERE (item_id, comment_id) > (?, ?) ORDER BY item_id, comment_id LIMIT ?",
                (item_id, comment_id, limit))
            if rows:
                converted = await asyncio.to_thread(convert, rows)  # (CPU: off the loop)
                await tx.executemany(
                    "UPDATE comment_features SET content_hash = ?, features = ? "
                    "WHERE item_id = ? AND comment_id = ?",
                    [(h, blob, r[0], r[1]) for (h, blob), r in zip(converted, rows, strict=True)])
            if len(rows) < limit:
                await tx.execute("UPDATE meta SET value = ? WHERE key = 'features_version'",
                                 (to_version,))
                await tx.execute("DELETE FROM meta WHERE key = 'features_converted'")
            else:
                await tx.execute("UPDATE meta SET value = ? WHERE key = 'features_converted'",
                                 (f"{rows[-1][0]}:{rows[-1][1]}",))
            return len(rows)

    # --- reading ------------------------------------------------------------------------

    async def load(self, item_id: int, after: int = -1, limit: int | None = None) -> list:
        """A page of an item's stored rows as (comment id, content hash, dup key, flags,
        blob), in comment id order from after ``after``: plain rows for the caller to
        decode off the loop (then ask for the page after its last id). ``limit``: PAGE."""
        limit = PAGE if limit is None else limit
        async with self.db.reading() as tx:
            return await tx.fetchtuples(
                "SELECT comment_id, content_hash, dup_key, flags, features "
                "FROM comment_features WHERE item_id = ? AND comment_id > ? "
                "ORDER BY comment_id LIMIT ?",
                (item_id, after, limit),
            )

    async def missing(self, item_id: int, after: int = -1, limit: int = 5_000) -> list:
        """(comment id, text) of the item's comments with text and no stored features,
        in id order from after ``after`` (a backfill page). The comments are walked by id
        (``+c.item_id``: not through the item's index, which would sort all of the item's
        comments again for every page)."""
        async with self.db.reading() as tx:
            return await tx.fetchall(
                f"""SELECT c.id, c.content FROM comments c
                    WHERE +c.item_id = ? AND c.id > ? AND {_HAS_TEXT}
                      AND NOT EXISTS (SELECT 1 FROM comment_features f
                                      WHERE f.item_id = c.item_id AND f.comment_id = c.id)
                    ORDER BY c.id LIMIT ?""",  # noqa: S608 - constant only
                (item_id, after, limit),
            )

    async def missing_any(self, after: int = -1, limit: int = 5_000) -> list:
        """(comment id, item id, text) of comments of any item with text and no stored
        features, in id order from after ``after`` (what the writer stores as they come)."""
        async with self.db.reading() as tx:
            return await tx.fetchall(
                f"""SELECT c.id, c.item_id, c.content FROM comments c
                    WHERE c.id > ? AND {_HAS_TEXT}
                      AND NOT EXISTS (SELECT 1 FROM comment_features f
                                      WHERE f.item_id = c.item_id AND f.comment_id = c.id)
                    ORDER BY c.id LIMIT ?""",  # noqa: S608 - constant only
                (after, limit),
            )

    async def count(self, item_id: int | None = None) -> int:
        async with self.db.reading() as tx:
            if item_id is None:
                row = await tx.fetchone("SELECT COUNT(*) FROM comment_features")
            else:
                row = await tx.fetchone(
                    "SELECT COUNT(*) FROM comment_features WHERE item_id = ?", (item_id,))
        return row[0]
