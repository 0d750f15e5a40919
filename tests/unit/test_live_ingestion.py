"""Live messages through the discussion service's one-trip path keep the guarantees of the
full path: stored once, never after a deletion, under the channel's current item, versions and
cursors moved as by `record_new`, all or nothing under a full disk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.discussion import DiscussionService
from bot.storage import Repository
from bot.storage.database import WriteFailed
from bot.storage.models import IncomingMessage

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHANNEL = 10


@pytest.fixture
async def live(tmp_path):
    repo = await Repository.open(tmp_path / "live.db")
    consultation = await repo.agenda.upsert_consultation(1, "c", "C", "")
    items = []
    for key in ("a", "b"):
        item, _ = await repo.agenda.upsert_item(consultation.id, key, parent_id=None,
                                                position=len(items), title=key.upper(),
                                                summation="S.", body="The body.")
        items.append(item.id)
    await repo.agenda.save_place(items[0], channel_id=CHANNEL)
    service = DiscussionService(repo)
    service.mark_in_sync(CHANNEL, service.epoch)
    yield repo, service, items
    await repo.close()


def msg(mid: int, text: str = "", channel: int = CHANNEL) -> IncomingMessage:
    return IncomingMessage(message_id=mid, channel_id=channel, author_id=100 + mid,
                           content=text or f"plain words {mid}",
                           created_at=T0 + timedelta(seconds=mid))


async def version(repo: Repository, item_id: int) -> int:
    return (await repo.agenda.item(item_id)).discussion_version


async def cursor(repo: Repository) -> tuple[int, int | None]:
    async with repo.db.reading() as tx:
        row = await tx.fetchone("SELECT last_message_id, first_live_id FROM channel_cursors "
                                "WHERE channel_id = ?", (CHANNEL,))
    return tuple(row)


async def test_live_messages_are_stored_once_with_versions_and_cursor(live):
    repo, service, (item, _) = live
    for mid in (1, 2, 3, 2, 3):  # a replayed gateway event changes nothing
        await service.record_live(msg(mid), parent_id=None)
    stored = await repo.discussion.comments(item)
    assert [(c.message_id, c.content, c.created_at) for c in stored] == [
        (m, f"plain words {m}", T0 + timedelta(seconds=m)) for m in (1, 2, 3)]
    assert await version(repo, item) == 3
    assert await cursor(repo) == (3, None)
    # each comment is marked changed after the version a summary read before it
    _, rows, _ = await repo.discussion.summary_rows(item, ["👍"], ["👎"], since=2)
    assert [r[5] for r in rows] == [3]
    assert (await repo.agenda.item(item)).last_activity_at == T0 + timedelta(seconds=3)


async def test_a_burst_is_stored_in_order_and_counted(live):
    repo, service, (item, _) = live
    await service.record_live(msg(1), parent_id=None)
    await asyncio.gather(*(service.record_live(msg(m), parent_id=None) for m in range(2, 202)))
    assert [c.message_id for c in await repo.discussion.comments(item)] == list(range(1, 202))
    assert await version(repo, item) == 201
    assert await cursor(repo) == (201, None)


async def test_a_message_deleted_before_it_was_stored_never_is(live):
    repo, service, (item, _) = live
    await service.record_live(msg(1), parent_id=None)  # the channel's item is known now
    await service.delete([2], channel_id=CHANNEL)  # the delete event came first
    await service.record_live(msg(2, "deleted text"), parent_id=None)
    await service.record_live(msg(3), parent_id=None)
    assert [c.message_id for c in await repo.discussion.comments(item, include_all=True)] == [1, 3]
    assert await version(repo, item) == 2


async def test_a_channel_given_to_another_item_stores_there(live):
    repo, service, (first, second) = live
    await service.record_live(msg(1), parent_id=None)
    await repo.agenda.save_place(first, channel_id=99)  # re-published elsewhere
    await repo.agenda.save_place(second, channel_id=CHANNEL)
    await service.record_live(msg(2), parent_id=None)
    assert [c.message_id for c in await repo.discussion.comments(first)] == [1]
    assert [c.message_id for c in await repo.discussion.comments(second)] == [2]
    assert (await version(repo, first), await version(repo, second)) == (1, 1)


async def test_messages_of_an_unsynced_channel_note_the_gap(live):
    repo, service, (item, _) = live
    await service.record_live(msg(1), parent_id=None)
    service.desync(CHANNEL)  # a reconnect: history may have a hole before what comes live
    await service.record_live(msg(5), parent_id=None)
    await service.record_live(msg(6), parent_id=None)
    assert await cursor(repo) == (1, 5)
    assert [c.message_id for c in await repo.discussion.comments(item)] == [1, 5, 6]


async def test_a_full_disk_keeps_nothing_and_the_same_message_stores_later(live):
    repo, service, (item, _) = live
    await service.record_live(msg(1), parent_id=None)
    await repo.db.vacuum()
    async with repo.db.transaction() as tx:
        (pages,) = await tx.fetchone("PRAGMA page_count")
        await tx.execute(f"PRAGMA max_page_count = {int(pages)}")
    big = msg(2, "words " * 2000)
    with pytest.raises(WriteFailed, match="full"):
        await service.record_live(big, parent_id=None)
    assert [c.message_id for c in await repo.discussion.comments(item)] == [1]
    assert await version(repo, item) == 1 and await cursor(repo) == (1, None)
    async with repo.db.transaction() as tx:
        await tx.execute("PRAGMA max_page_count = 2000000000")
    await service.record_live(big, parent_id=None)
    assert [c.message_id for c in await repo.discussion.comments(item)] == [1, 2]
    assert await version(repo, item) == 2 and await cursor(repo) == (2, None)


async def test_live_reactions_change_the_version_only_when_they_change_something(live):
    repo, service, (item, _) = live
    await service.record_live(msg(1), parent_id=None)
    d = repo.discussion
    assert await d.set_reaction(777, 5, "👍", True) is False  # not a comment
    assert await version(repo, item) == 1
    assert await d.set_reaction(1, 5, "👎", True) is True
    assert await d.set_reaction(1, 5, "👎", True) is True  # the same event again
    assert await version(repo, item) == 2
    assert await d.set_reaction(1, 5, "👍", True) is True  # their latest reaction: agree
    assert await d.set_reaction(1, 6, "👎", True) is True
    assert await d.reaction_counts(item, ["👍"], ["👎"]) == {1: (1, 1)}
    assert await version(repo, item) == 4
    assert await d.set_reaction(1, 6, "👎", False) is True
    assert await d.set_reaction(1, 6, "👎", False) is True  # gone already: nothing changes
    assert await version(repo, item) == 5
    assert await d.reaction_tally([1]) == {1: {"👍": 1, "👎": 1}}
    _, rows, votes = await d.summary_rows(item, ["👍"], ["👎"], since=4)
    assert [r[0] for r in rows] == [(await d.comment(1)).id] and votes[-1][1:] == (5, 1)
