"""The discussion service against a real database: quotes follow article edits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.discussion import DiscussionService, article_text
from bot.storage import Repository
from bot.storage.models import IncomingMessage

BODY = ("Cyber crime is a significant threat to economic and social well-being. "
        "What is unacceptable offline is also unacceptable online. "
        "Industry must be a part of the solution on prevention.")


@pytest.fixture
async def setup(database_target):
    repo = await Repository.open(database_target)
    consultation = await repo.agenda.upsert_consultation(1, "c", "C", "")
    item, _ = await repo.agenda.upsert_item(consultation.id, "crime", parent_id=None, position=0,
                                            title="Crime", summation="Summary.", body=BODY)
    await repo.agenda.save_place(item.id, channel_id=10)
    yield repo, await repo.agenda.item(item.id)
    await repo.close()


def msg(mid: int, text: str) -> IncomingMessage:
    return IncomingMessage(message_id=mid, channel_id=10, author_id=mid, content=text,
                           created_at=datetime(2026, 1, 1, tzinfo=UTC))


async def test_quotes_are_reanchored_moved_or_orphaned_after_an_edit(setup):
    repo, item = setup
    service = DiscussionService(repo)
    await service.record(msg(1, "> what is unacceptable offline is also unacceptable online\nYes"))
    await service.record(msg(2, "> Industry must be a part of the solution on prevention.\nNo"))
    await service.record(msg(3, "> a passage that was never in the article at all, really\nHm"))
    new_body = ("A new opening paragraph comes first.\n\n"
                "What is unacceptable offline is also unacceptable online. "
                "Cyber crime is a significant threat to economic and social well-being.")
    edited, changed = await repo.agenda.add_revision(item.id, title="Crime", summation="Summary.",
                                                     body=new_body, author_id=9)
    assert changed
    states = await service.reanchor(edited)
    assert states == {"moved": 1, "orphaned": 1, "unanchored": 1}
    by_message = {q.message_id: q for q in await repo.discussion.quotes(item.id)}
    moved = by_message[1]
    assert moved.state == "moved" and moved.revision_id == edited.revision_id
    assert article_text(edited)[moved.start:moved.end] == moved.exact
    assert by_message[2].state == "orphaned" and by_message[2].exact is None
    assert by_message[3].state == "unanchored"
    assert await service.reanchor(edited) == {}  # nothing left on an older revision


def test_well_formed_replaces_lone_surrogates_and_joins_split_pairs():
    from bot.runtime.adapters import well_formed

    assert well_formed("a \ud800 b") == "a \ufffd b"
    assert well_formed("end \udfff") == "end \ufffd"
    assert well_formed("\ud83d\ude00") == "\U0001F600"  # a pair kept as two code points
    assert well_formed("fine \U0001F600") == "fine \U0001F600"
    assert well_formed(None) == ""
    well_formed("x \ud800").encode("utf-8")  # SQLite can store it now
