"""The PostgreSQL backend against a real server (TEST_DATABASE_URL): its migrations, the
schema it shares with SQLite, its faults, once-across-processes locks, change notices, and
erasure down to the table files. (The stores' own tests run on both backends through the
``repo`` fixture.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.storage import Database, DatabaseError, Repository, WriteFailed
from bot.storage.postgres import PgDatabase
from bot.storage.postgres.database import latest_version, translate
from tests import pg
from tests.unit.test_database_faults import cancel_at_every_step
from tests.unit.test_storage import make_item, message

needs_pg = pytest.mark.skipif(pg.URL is None, reason=pg.SKIP_REASON)


@pytest.fixture
async def empty_url():
    """A new, empty PostgreSQL database (not migrated)."""
    if pg.URL is None:
        pytest.skip(pg.SKIP_REASON)
    url = await pg.fresh_database(migrated=False)
    yield url
    await pg.drop_database(url)


def test_placeholders_are_numbered_and_quoted_text_is_left_alone():
    assert translate("SELECT a FROM t WHERE b = ? AND c IN (?, ?)") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)")
    assert translate("""SELECT 'it''s', "end" FROM t -- a comment's ?\nWHERE x = ?""") == (
        """SELECT 'it''s', "end" FROM t \nWHERE x = $1""")
    with pytest.raises(ValueError, match="quoted"):
        translate("SELECT * FROM t WHERE a = '?'")


@needs_pg
async def test_an_empty_database_migrates_to_the_latest_version(empty_url):
    db = await PgDatabase.open(empty_url)
    try:
        assert await db.user_version() == latest_version() >= 1
        async with db.reading() as tx:
            rows = await tx.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, latest_version() + 1))
    finally:
        await db.close()
    again = await PgDatabase.open(empty_url)  # nothing left to apply
    assert await again.user_version() == latest_version()
    await again.close()


@needs_pg
async def test_two_processes_starting_together_migrate_once(empty_url):
    opened = await asyncio.gather(*(PgDatabase.open(empty_url) for _ in range(4)))
    try:
        async with opened[0].reading() as tx:
            rows = await tx.fetchall("SELECT version FROM schema_migrations")
        assert sorted(r[0] for r in rows) == list(range(1, latest_version() + 1))
    finally:
        for db in opened:
            await db.close()


@needs_pg
async def test_a_database_from_a_newer_version_is_refused_in_one_line(empty_url):
    db = await PgDatabase.open(empty_url)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                         (latest_version() + 5, "0099_future.sql"))
    await db.close()
    with pytest.raises(DatabaseError) as refused:
        await PgDatabase.open(empty_url)
    text = str(refused.value)
    assert "newer consultation-bot" in text and "DATABASE_URL" in text and "\n" not in text


async def test_an_unreachable_server_is_one_line_naming_database_url_without_the_password():
    with socket_closed_port() as port:
        url = f"postgresql://bot:hunter2@127.0.0.1:{port}/consultation"
        with pytest.raises(DatabaseError) as refused:
            await Repository.open(url)
    text = str(refused.value)
    assert text.startswith("cannot connect to DATABASE_URL postgresql://bot@127.0.0.1:")
    assert "hunter2" not in text and "\n" not in text


@needs_pg
async def test_the_schema_has_the_same_tables_and_columns_as_sqlite(tmp_path, repo_pg):
    """A SQLite migration without its PostgreSQL twin fails here."""
    lite = await Database.open(tmp_path / "schema.db")
    await lite.close()
    with sqlite3.connect(tmp_path / "schema.db") as raw:
        tables = [r[0] for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        sqlite_columns = {(t, r[1], _KINDS[r[2].upper()]) for t in tables
                          for r in raw.execute(f'PRAGMA table_info("{t}")')}
    async with repo_pg.db.reading() as tx:
        rows = await tx.fetchall(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name != 'schema_migrations'")
    pg_columns = {(r[0], r[1], _KINDS[r[2].upper()]) for r in rows} - {
        ("reactions", "rowid", "integer")}
    assert pg_columns == sqlite_columns


#: what a column holds, by its declared type on either backend (an INTEGER column in SQLite
#: must be an integer in PostgreSQL too: asyncpg refuses an int for a TEXT column)
_KINDS = {"INTEGER": "integer", "BIGINT": "integer", "SMALLINT": "integer", "TEXT": "text",
          "REAL": "real", "DOUBLE PRECISION": "real", "BLOB": "bytes", "BYTEA": "bytes"}


@pytest.fixture
async def repo_pg():
    if pg.URL is None:
        pytest.skip(pg.SKIP_REASON)
    url = await pg.fresh_database()
    repository = await Repository.open(url)
    yield repository
    await repository.close()
    await pg.drop_database(url)


@needs_pg
async def test_a_lost_connection_is_write_failed_and_the_next_write_succeeds(repo_pg):
    item = await make_item(repo_pg)
    admin = await asyncpg.connect(repo_pg.db.url)
    try:
        with pytest.raises(WriteFailed):
            async with repo_pg.db.transaction() as tx:
                await tx.execute("UPDATE items SET position = 5 WHERE id = ?", (item.id,))
                mine = await tx.fetchone("SELECT pg_backend_pid()")
                await admin.execute("SELECT pg_terminate_backend($1)", mine[0])
                await tx.execute("UPDATE items SET position = 6 WHERE id = ?", (item.id,))
    finally:
        await admin.close()
    assert (await repo_pg.agenda.item(item.id)).position == 1  # nothing of it was kept
    batch = [(message(1, "after the outage", channel_id=item.channel_id), [], [])]
    assert await repo_pg.discussion.record_new(item.id, batch) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_exclusive_is_held_by_one_holder_at_a_time(backend, tmp_path):
    if backend == "postgres" and pg.URL is None:
        pytest.skip(pg.SKIP_REASON)
    if backend == "postgres":
        url = await pg.fresh_database()
        a, b = await PgDatabase.open(url), await PgDatabase.open(url)  # two "processes"
    else:
        url = None
        a = await Database.open(tmp_path / "x.db")
        b = a  # one SQLite file has one process
    try:
        async with a.exclusive("close:42") as got:
            assert got
            async with b.exclusive("close:42") as again:
                assert not again
            async with b.exclusive("close:43") as other:
                assert other  # another name is another lock
        async with b.exclusive("close:42") as later:
            assert later  # released when the block ended
    finally:
        await a.close()
        if b is not a:
            await b.close()
        if url:
            await pg.drop_database(url)


@needs_pg
async def test_a_process_that_dies_releases_its_exclusive_lock():
    url = await pg.fresh_database()
    a, b = await PgDatabase.open(url), await PgDatabase.open(url)
    admin = await asyncpg.connect(url)
    try:
        async with a.exclusive("sync-commands") as got:
            assert got
            holder = await admin.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
            await admin.execute("SELECT pg_terminate_backend($1)", holder)  # as kill -9 would
            await asyncio.sleep(0)
            for _ in range(100):
                async with b.exclusive("sync-commands") as taken:
                    if taken:
                        break
                await asyncio.sleep(0.05)
            assert taken
    finally:
        await admin.close()
        await a.close()
        await b.close()
        await pg.drop_database(url)


@needs_pg
async def test_a_notice_committed_in_one_process_reaches_another():
    url = await pg.fresh_database()
    a, b = await PgDatabase.open(url), await PgDatabase.open(url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await b.subscribe("changes", heard.put_nowait)
        with pytest.raises(RuntimeError):
            async with a.transaction() as tx:
                await tx.notify("changes", "item:1")
                raise RuntimeError("rolled back: nobody is told")
        async with a.transaction() as tx:
            await tx.notify("changes", "item:2")
        assert await asyncio.wait_for(heard.get(), 10) == "item:2"
        assert heard.empty()
    finally:
        await a.close()
        await b.close()
        await pg.drop_database(url)


async def test_sqlite_notices_are_delivered_after_commit_only(tmp_path):
    db = await Database.open(tmp_path / "n.db")
    heard: list[str] = []
    await db.subscribe("changes", heard.append)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.notify("changes", "item:1")
            raise RuntimeError("rolled back")
    async with db.transaction() as tx:
        await tx.notify("changes", "item:2")
    await db.close()
    assert heard == ["item:2"]


async def _relation_bytes(repo: Repository, table: str) -> bytes:
    """The bytes of a table's heap and TOAST files, as on disk after a checkpoint."""
    async with repo.db.reading() as tx:
        rows = await tx.fetchall(
            "SELECT pg_relation_filepath(c.oid), pg_relation_filepath(c.reltoastrelid) "
            "FROM pg_class c WHERE c.relname = ?", (table,))
    admin = await asyncpg.connect(repo.db.url)
    try:
        await admin.execute("CHECKPOINT")
        blob = b""
        for path in (p for p in rows[0] if p):
            blob += await admin.fetchval("SELECT pg_read_binary_file($1)", path)
        return blob
    finally:
        await admin.close()


@needs_pg
async def test_erasure_leaves_the_text_in_no_table_file_not_even_in_dead_rows(repo_pg):
    repo = repo_pg
    item = await make_item(repo)
    secret = "my-very-identifiable-sentence-xyzzy"
    await repo.privacy.save_profile(7, display_name="Alice Example", affiliation="individual",
                                    consent_named=True)
    for n in range(30):  # others' comments share the pages
        await repo.discussion.record(item.id, message(100 + n, f"someone else's words {n}",
                                                      channel_id=item.channel_id, author=8))
    await repo.discussion.record(item.id, message(1, secret, channel_id=item.channel_id))
    await repo.discussion.record(
        item.id, message(1, secret + " v2", channel_id=item.channel_id, minutes=2))
    await repo.discussion.add_citation(
        item.id, pg_citation(secret), message_id=50, citer_id=7, comment_id=None)
    tables = ("comments", "comment_revisions", "citations", "participants")
    before = b"".join([await _relation_bytes(repo, t) for t in tables])
    assert secret.encode() in before and b"Alice Example" in before  # the test can see it
    await repo.privacy.erase(7)
    after = {t: await _relation_bytes(repo, t) for t in tables}
    assert [t for t, blob in after.items() if secret.encode() in blob] == []
    assert [t for t, blob in after.items() if b"Alice Example" in blob] == []
    assert (await repo.discussion.comment(1)).erased_at is not None
    assert (await repo.discussion.comment(100)).content == "someone else's words 0"


def pg_citation(secret: str):
    from bot.storage import CitationIn

    return CitationIn(normalized_url="https://a.org/", url="https://a.org/", note="note-" + secret)


class socket_closed_port:
    """A localhost port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        return None


@needs_pg
@pytest.mark.parametrize("count", [1, 5, 100])  # one row, one unnest() INSERT, COPY
async def test_a_plain_insert_of_many_rows_stores_each_once_and_counts_them(repo_pg, count):
    item = await make_item(repo_pg)
    await repo_pg.discussion.record_new(item.id, [(message(1, "x", channel_id=item.channel_id), [], [])])
    comment = await repo_pg.discussion.comment(1)
    rows = [(comment.id, f"f{n}.png", None, "image/png") for n in range(count)]
    async with repo_pg.db.transaction() as tx:
        added = await tx.executemany(
            "INSERT INTO attachments (comment_id, filename, url, content_type) VALUES (?, ?, ?, ?)",
            rows)
    assert added == count
    async with repo_pg.db.reading() as tx:
        stored = await tx.fetchall("SELECT filename, url FROM attachments ORDER BY id")
    assert [(r["filename"], r["url"]) for r in stored] == [(f"f{n}.png", None) for n in range(count)]
    # a violation aborts the whole batch, as one INSERT would
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with repo_pg.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO attachments (comment_id, filename, url, content_type) "
                "VALUES (?, ?, ?, ?)", [*rows, (999_999, "orphan", None, None)])
    async with repo_pg.db.reading() as tx:
        assert (await tx.fetchone("SELECT COUNT(*) FROM attachments"))[0] == count


@needs_pg
async def test_another_process_hears_which_item_changed_when_a_comment_is_stored():
    from bot.storage.common import DISCUSSION_CHANGED

    url = await pg.fresh_database()
    writer, reader = await Repository.open(url), await Repository.open(url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        item = await make_item(writer)
        await reader.db.subscribe(DISCUSSION_CHANGED, heard.put_nowait)
        await writer.discussion.record_new(
            item.id, [(message(1, "live", channel_id=item.channel_id), [], [])])
        assert await asyncio.wait_for(heard.get(), 10) == str(item.id)
        await writer.discussion.record(item.id, message(1, "edited", channel_id=item.channel_id,
                                                        minutes=1))
        assert await asyncio.wait_for(heard.get(), 10) == str(item.id)
        await writer.privacy.erase(7)
        assert await asyncio.wait_for(heard.get(), 10) == str(item.id)
    finally:
        await writer.close()
        await reader.close()
        await pg.drop_database(url)


async def test_sqlite_subscribers_hear_which_item_changed(repo):
    from bot.storage.common import DISCUSSION_CHANGED

    heard: list[str] = []
    await repo.db.subscribe(DISCUSSION_CHANGED, heard.append)
    item = await make_item(repo)
    await repo.discussion.record_new(item.id, [(message(1, "live", channel_id=item.channel_id), [], [])])
    await repo.discussion.set_reaction(1, 9, "👍", True)
    assert heard == [str(item.id), str(item.id)]


@needs_pg
async def test_tasks_cancelled_mid_transaction_leave_the_pool_usable(repo_pg):
    """Shutdown cancels tasks wherever they are; no connection may stay in a transaction."""
    r = repo_pg
    await cancel_at_every_step(r)
    await r.insight.set_meta("k", "after")
    assert await r.insight.get_meta("k") == "after"
    admin = await asyncpg.connect(r.db.url)
    try:
        stuck = await admin.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%'")
    finally:
        await admin.close()
    assert stuck == 0


@pytest.fixture
async def small_tablespace():
    """A 3 MiB tablespace on its own tmpfs (root, and a server on this machine): a disk that
    fills up. Yields its name."""
    import os
    import shutil
    import subprocess
    from urllib.parse import urlsplit

    if pg.URL is None:
        pytest.skip(pg.SKIP_REASON)
    if os.geteuid() != 0 or (urlsplit(pg.URL).hostname or "localhost") not in ("localhost", "127.0.0.1"):
        pytest.skip("a full disk needs root (to mount a small tmpfs) and a local server")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="pg-small-"))  # (pytest's tmp_path is root's only)
    folder.chmod(0o755)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.chown(folder, "postgres", "postgres")
        admin = await asyncpg.connect(pg.URL)
        name = f"small_{os.getpid()}"
        try:
            await admin.execute(f"CREATE TABLESPACE {name} LOCATION '{folder}'")
            yield name
        finally:
            await admin.execute(f"DROP TABLESPACE IF EXISTS {name}")
            await admin.close()
    finally:
        subprocess.run(["umount", "-l", str(folder)])
        shutil.rmtree(folder, ignore_errors=True)


@needs_pg
async def test_a_full_disk_is_write_failed_keeps_nothing_half_written_and_passes(small_tablespace, repo_pg):
    # (small_tablespace first: it is dropped after the test database)
    repo = repo_pg
    item = await make_item(repo)
    async with repo.db.transaction() as tx:  # the comments live on the small disk
        await tx.execute(f"ALTER TABLE comments SET TABLESPACE {small_tablespace}")
    batch = [(message(1000 + i, "words " * 300, channel_id=item.channel_id), [], [])
             for i in range(3000)]  # ~5 MB of text: more than the disk holds
    with pytest.raises(WriteFailed, match="space"):
        await repo.discussion.record_new(item.id, batch)
    assert (await repo.discussion.counts(item.id)).comments == 0  # not one of the 3000
    async with repo.db.transaction() as tx:  # space again (the table moves back)
        await tx.execute("ALTER TABLE comments SET TABLESPACE pg_default")
    assert await repo.discussion.record_new(item.id, batch) == 3000


def test_database_url_selects_postgres_and_a_bad_one_is_refused_without_echoing_it(tmp_path):
    from bot.settings import SettingsError, load_settings

    assert load_settings(_env_file=None, database_path=tmp_path / "c.db").database == tmp_path / "c.db"
    chosen = load_settings(_env_file=None, database_url="postgresql://bot:pw@db:5432/consultation")
    assert chosen.database == "postgresql://bot:pw@db:5432/consultation"
    assert "pw" not in repr(chosen)  # a secret: never shown in logs or errors
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, database_url="mysql://bot:hunter2@db/consultation")
    assert str(refused.value).startswith("DATABASE_URL is invalid: must start with postgresql://")
    assert "hunter2" not in str(refused.value)


@needs_pg
async def test_write_batch_runs_steps_in_order_skips_on_no_rows_and_is_all_or_nothing(repo_pg):
    db = repo_pg.db
    counts = await db.write_batch([
        ("INSERT INTO meta (key, value) VALUES (?, ?)", ("a", "1")),
        ("SELECT key FROM meta WHERE key = ?", ("nothing",)),
        ("UPDATE meta SET value = ? WHERE key = ?", ("2", "a"), 1),  # skipped: step 1 found none
        ("SELECT key FROM meta WHERE key = ?", ("a",)),
        ("UPDATE meta SET value = ? WHERE key = ?", ("3", "a"), 3),  # runs: step 3 found one
    ])
    assert counts == [1, 0, 0, 1, 1]
    assert (await db.read_one("SELECT value FROM meta WHERE key = ?", ("a",)))["value"] == "3"
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.write_batch([("UPDATE meta SET value = ? WHERE key = ?", ("4", "a")),
                              ("INSERT INTO meta (key, value) VALUES (?, ?)", ("a", "dup"))])
    assert (await db.read_one("SELECT value FROM meta WHERE key = ?", ("a",)))["value"] == "3"
