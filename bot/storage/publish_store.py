"""Background publishing: runs (resumable progress) and intents (what was about to be created)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.storage.common import Store, parse_ts, ts
from bot.storage.models import PublishIntent, PublishRun, utcnow


def _run(row) -> PublishRun:
    return PublishRun(
        id=row["id"], consultation_id=row["consultation_id"], guild_id=row["guild_id"],
        channel_id=row["channel_id"], message_id=row["message_id"],
        item_ids=json.loads(row["item_ids"]), changed_ids=json.loads(row["changed_ids"]),
        done=row["done"], created=row["created"], updated=row["updated"],
        unchanged=row["unchanged"], status=row["status"], error=row["error"],
        requested_by=row["requested_by"], started_at=parse_ts(row["started_at"]),
        finished_at=parse_ts(row["finished_at"]),
    )


class PublishStore(Store):
    # --- runs ------------------------------------------------------------------------------

    async def create_run(
        self, consultation_id: int, guild_id: int, channel_id: int, item_ids: Sequence[int],
        changed_ids: Sequence[int], requested_by: int | None,
    ) -> PublishRun:
        """A new run; an earlier unfinished run of the same consultation is superseded."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE publish_runs SET status = 'superseded', finished_at = ? "
                "WHERE consultation_id = ? AND status = 'running'",
                (ts(utcnow()), consultation_id),
            )
            run_id = await tx.insert(
                """INSERT INTO publish_runs (consultation_id, guild_id, channel_id, item_ids,
                                             changed_ids, requested_by, started_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (consultation_id, guild_id, channel_id, json.dumps(list(item_ids)),
                 json.dumps(list(changed_ids)), requested_by, ts(utcnow())),
            )
            row = await tx.fetchone("SELECT * FROM publish_runs WHERE id = ?", (run_id,))
        return _run(row)

    async def run(self, run_id: int) -> PublishRun | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone("SELECT * FROM publish_runs WHERE id = ?", (run_id,))
        return _run(row) if row else None

    async def unfinished_runs(self) -> list[PublishRun]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM publish_runs WHERE status = 'running' ORDER BY id")
        return [_run(r) for r in rows]

    async def set_run_message(self, run_id: int, message_id: int | None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE publish_runs SET message_id = ? WHERE id = ?",
                             (message_id, run_id))

    async def record_progress(self, run_id: int, done: int, outcome: str) -> None:
        """`done` items are published; the last one was `created`, `updated` or `unchanged`."""
        if outcome not in ("created", "updated", "unchanged"):
            raise ValueError(outcome)
        async with self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE publish_runs SET done = ?, {outcome} = {outcome} + 1 "  # noqa: S608 (checked above)
                "WHERE id = ? AND done < ?",
                (done, run_id, done),
            )

    async def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE publish_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                (status, error, ts(utcnow()), run_id),
            )

    # --- intents ---------------------------------------------------------------------------

    async def set_intent(self, item_id: int, kind: str, place_id: int = 0,
                         detail: dict[str, Any] | None = None) -> PublishIntent:
        """Record, before creating it, that the item's `kind` is about to be created."""
        now = utcnow()
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO publish_intents (item_id, kind, place_id, detail, created_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (item_id, kind) DO UPDATE SET place_id = excluded.place_id,
                     detail = excluded.detail, created_at = excluded.created_at""",
                (item_id, kind, place_id, json.dumps(detail or {}), ts(now)),
            )
        return PublishIntent(item_id=item_id, kind=kind, place_id=place_id, detail=detail or {},
                             created_at=now)

    async def intent(self, item_id: int, kind: str) -> PublishIntent | None:
        async with self.db.reading() as tx:
            row = await tx.fetchone(
                "SELECT * FROM publish_intents WHERE item_id = ? AND kind = ?", (item_id, kind))
        if row is None:
            return None
        return PublishIntent(item_id=row["item_id"], kind=row["kind"], place_id=row["place_id"],
                             detail=json.loads(row["detail"]), created_at=parse_ts(row["created_at"]))

    async def clear_intent(self, item_id: int, kind: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM publish_intents WHERE item_id = ? AND kind = ?",
                             (item_id, kind))

    async def intents(self) -> list[PublishIntent]:
        async with self.db.reading() as tx:
            rows = await tx.fetchall("SELECT * FROM publish_intents ORDER BY created_at")
        return [PublishIntent(item_id=r["item_id"], kind=r["kind"], place_id=r["place_id"],
                              detail=json.loads(r["detail"]), created_at=parse_ts(r["created_at"]))
                for r in rows]
