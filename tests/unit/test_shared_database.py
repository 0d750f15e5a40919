"""Several bot processes (shard processes) on one database: claims on once-only work, the
migrations, and caches one process keeps while another changes the data.

Each "process" here is its own Repository (its own connections) on the same database, as
two `python -m bot run` processes would be. On SQLite it is one file in WAL mode; on
PostgreSQL (TEST_DATABASE_URL) one server database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.insight import InsightService
from bot.storage import Database
from bot.storage.database import latest_version
from bot.storage.models import IncomingMessage
from tests.shared_db import open_shared, shared_backend  # noqa: F401  (fixture)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def two(shared_backend):  # noqa: F811
    """Two processes' repositories on one database."""
    first = await open_shared(shared_backend)
    second = await open_shared(shared_backend)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_one_of_two_processes_wins_a_claim(two):
    a, b = two
    wins = await asyncio.gather(*(repo.claims.claim("sync:global:abc", owner, now=1000, lease=60)
                                  for repo, owner in ((a, "A"), (b, "B"))))
    assert sorted(wins) == [False, True]
    winner = "A" if wins[0] else "B"
    assert (await a.claims.holder("sync:global:abc"))[0] == winner
    # the winner may renew its own claim; the other may not take it while it holds
    loser_repo = b if winner == "A" else a
    assert not await loser_repo.claims.claim("sync:global:abc", "C", now=1030, lease=60)


async def test_a_lapsed_claim_is_taken_over_and_a_done_one_never(two):
    a, b = two
    assert await a.claims.claim("close:1:t", "A", now=1000, lease=60)
    assert not await b.claims.claim("close:1:t", "B", now=1059, lease=60)
    assert await b.claims.claim("close:1:t", "B", now=1060, lease=60)  # A died: it lapsed
    await a.claims.done("close:1:t", "A", now=1061)  # A is not the holder: no effect
    assert (await a.claims.holder("close:1:t"))[2] is None
    await b.claims.done("close:1:t", "B", now=1062)
    assert not await a.claims.claim("close:1:t", "A", now=9999, lease=60)


async def test_a_released_claim_can_be_claimed_at_once(two):
    a, b = two
    assert await a.claims.claim("close:2:t", "A", now=1000, lease=60)
    await b.claims.release("close:2:t", "B")  # not B's: nothing happens
    assert not await b.claims.claim("close:2:t", "B", now=1001, lease=60)
    await a.claims.release("close:2:t", "A")
    assert await b.claims.claim("close:2:t", "B", now=1002, lease=60)


async def test_two_processes_opening_a_new_sqlite_file_migrate_it_once(tmp_path):
    path = tmp_path / "new.db"
    first, second = await asyncio.gather(Database.open(path), Database.open(path))
    try:
        assert await first.user_version() == await second.user_version() == latest_version()
    finally:
        await first.close()
        await second.close()


def _msg(mid: int, text: str, author: int) -> IncomingMessage:
    return IncomingMessage(message_id=mid, channel_id=100, author_id=author, content=text,
                           created_at=T0 + timedelta(minutes=mid))


async def test_an_erasure_by_another_process_drops_this_process_derived_text(two):
    a, b = two
    consultation = await a.agenda.upsert_consultation(7, "london", "The London Agenda", "")
    item, _ = await a.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                         title="Crime", summation="S.", body="Body text.")
    await a.agenda.save_place(item.id, channel_id=100)
    for mid in range(1, 13):
        await a.discussion.record(item.id, _msg(mid, f"Point {mid} about prevention {mid % 3}.",
                                                author=mid % 6 + 1))
    item = await a.agenda.item(item.id)
    insight = InsightService(a, ["👍"], ["👎"])
    await insight.warm([item])
    await insight.topic_map(consultation.id)
    assert len(insight.features) == 12
    await b.privacy.erase(3)  # the other process: author 3 wrote comments 2 and 8
    item = await a.agenda.item(item.id)
    result = await insight.summary(item)
    assert result.summary.participation.comments == 10
    assert len(insight.features) == 10  # what was derived from their text is gone here too
    await insight.topic_map(consultation.id)
    assert insight.last_map_reread == [item.id]


async def test_pending_notices_of_a_shard_process_are_those_of_its_guilds(two):
    from bot.storage.models import OutcomeRef

    a, _b = two
    await a.privacy.save_profile(5, display_name=None, affiliation=None, consent_named=False,
                                 notify_outcomes=True)
    items = {}
    for shard in (0, 1):  # a guild on each of two shards
        guild_id = ((1000 + shard) << 22) | 7
        consultation = await a.agenda.upsert_consultation(guild_id, f"c{shard}", "C", "")
        item, _ = await a.agenda.upsert_item(consultation.id, "x", parent_id=None, position=0,
                                             title="X", summation="S.", body="B.")
        await a.agenda.save_place(item.id, channel_id=500 + shard)
        comment = await a.discussion.record(item.id, IncomingMessage(
            message_id=900 + shard, channel_id=500 + shard, author_id=5, content="Heard?",
            created_at=T0))
        await a.outcomes.record(item.id, status="accepted", text="Yes.", author_id=1,
                                responds_to=[OutcomeRef(kind="statement", label="Heard?",
                                                        comment_ids=[comment.comment_id])])
        items[shard] = item.id
    assert {n[0] for n in await a.outcomes.pending_notices()} == set(items.values())
    for shard in (0, 1):
        mine = await a.outcomes.pending_notices(shards=(2, [shard]))
        assert [n[0] for n in mine] == [items[shard]]
    assert len(await a.outcomes.pending_notices(shards=(2, [0, 1]))) == 2


async def test_on_postgresql_an_erasure_clears_the_other_process_at_once(two, shared_backend):  # noqa: F811
    if shared_backend.name == "sqlite":
        pytest.skip("SQLite tells no other process: the erasure count is checked before "
                    "serving instead (see the test above)")
    a, b = two
    consultation = await a.agenda.upsert_consultation(7, "london", "The London Agenda", "")
    item, _ = await a.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                         title="Crime", summation="S.", body="Body text.")
    await a.agenda.save_place(item.id, channel_id=100)
    for mid in range(1, 7):
        await a.discussion.record(item.id, _msg(mid, f"Point {mid} about prevention.", author=mid))
    insight = InsightService(a, ["👍"], ["👎"])
    await insight.warm([await a.agenda.item(item.id)])
    assert len(insight.features) == 6
    await b.privacy.erase(3)  # nothing is asked of the first process afterwards
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(insight.features) == 6 and loop.time() < deadline:
        await asyncio.sleep(0.02)  # waiting for the notification, bounded
    assert len(insight.features) == 5  # the erased person's comment, and only theirs
