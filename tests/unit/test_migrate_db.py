"""`python -m bot migrate-db --from sqlite:PATH --to postgresql://…`: everything copied, the
same answers from both backends, re-running copies nothing twice, counts verified."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage import CitationIn, QuoteIn, Repository
from bot.storage.models import OutcomeRef
from tests import pg
from tests.unit.test_storage import make_item, message

ROOT = Path(__file__).resolve().parents[2]


async def fill(repo: Repository) -> int:
    item = await make_item(repo, body="Cyber crime is a threat. Act together.")
    sub = await make_item(repo, key="sub", parent_id=item.id)
    await repo.privacy.save_profile(7, display_name="Alice", affiliation="individual",
                                    consent_named=True, notify_outcomes=True)
    quote = QuoteIn(revision_id=item.revision_id, passage="Act together", exact="Act together.",
                    prefix="threat. ", suffix="", start=25, end=38, state="anchored", score=1.0)
    await repo.discussion.record(item.id, message(1, "> Act together\nYes.", channel_id=item.channel_id),
                                 quotes=[quote])
    for n in range(2, 40):
        await repo.discussion.record(item.id if n % 2 else sub.id,
                                     message(n, f"comment {n}", channel_id=item.channel_id,
                                             author=7 if n % 3 else 8, minutes=n))
    await repo.discussion.record(item.id, message(1, "> Act together\nYes, edited.",
                                                  channel_id=item.channel_id, minutes=50))
    for user in (8, 9, 10):
        await repo.discussion.set_reaction(1, user, "👍", True)
    await repo.discussion.add_citation(
        item.id, CitationIn(normalized_url="https://a.org/", url="https://a.org/", note="n"),
        message_id=3, citer_id=7, comment_id=None)
    await repo.moderation.add_lock(target_id=item.channel_id, item_id=item.id, scope="item",
                                   reason="closed", locked_by=5, saved_overwrites="{}", guild_id=10)
    await repo.outcomes.record(item.id, status="accepted", text="We will.",
                               responds_to=[OutcomeRef(kind="statement", label="x", comment_ids=[1, 2])],
                               author_id=5)
    return item.id


def migrate(source: Path, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate-db", "--from", f"sqlite:{source}", "--to", url],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)


@pytest.fixture
async def target_url():
    if pg.URL is None:
        pytest.skip(pg.SKIP_REASON)
    url = await pg.fresh_database(migrated=False)
    yield url
    await pg.drop_database(url)


async def test_migrate_db_copies_everything_once_and_both_backends_agree(tmp_path, target_url):
    source = tmp_path / "c.db"
    lite = await Repository.open(source)
    item_id = await fill(lite)
    expected_export = await lite.privacy.export(7)
    expected_counts = await lite.discussion.counts(item_id)
    expected_votes = await lite.discussion.reaction_counts(item_id, ["👍"], ["👎"])
    expected_items = [i.model_dump() for i in await lite.agenda.items(1)]
    await lite.close()

    first = migrate(source, target_url)
    assert first.returncode == 0, first.stderr
    assert "every table's count matches" in first.stdout
    assert [line.split() for line in first.stdout.splitlines() if line.startswith("comments ")] == [
        ["comments", "39", "rows", "39", "copied", "✓", "counts", "match"]]

    again = migrate(source, target_url)  # idempotent: nothing copied twice
    assert again.returncode == 0, again.stderr
    assert "copied 0 rows of" in again.stdout

    copy = await Repository.open(target_url)
    try:
        assert await copy.privacy.export(7) == expected_export
        assert await copy.discussion.counts(item_id) == expected_counts
        assert await copy.discussion.reaction_counts(item_id, ["👍"], ["👎"]) == expected_votes
        assert [i.model_dump() for i in await copy.agenda.items(1)] == expected_items
        # new rows get new ids after the copied ones
        await copy.discussion.record(item_id, message(500, "after the move", channel_id=1001))
        assert (await copy.discussion.comment(500)).id == 40
    finally:
        await copy.close()


async def test_migrate_db_refuses_a_target_holding_other_rows(tmp_path, target_url):
    source = tmp_path / "c.db"
    lite = await Repository.open(source)
    await fill(lite)
    await lite.close()
    other = await Repository.open(target_url)
    await other.agenda.upsert_consultation(99, "elsewhere", "Another consultation", "")
    await other.close()
    done = migrate(source, target_url)
    assert done.returncode == 2
    assert done.stderr.startswith("error: the copy in postgresql://")
    assert "consultations: 1 rows on both, with other contents" in done.stderr
    check = await Repository.open(target_url)  # all or nothing: not one comment was kept
    async with check.db.reading() as tx:
        assert (await tx.fetchone("SELECT COUNT(*) FROM comments"))[0] == 0
    await check.close()
