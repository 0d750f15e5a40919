"""migrate-db speed: a SQLite consultation of N comments copied into PostgreSQL with COPY
(through a staging table) and with executemany (INSERT … ON CONFLICT DO NOTHING), each into
a new database on the server of --database-url (default TEST_DATABASE_URL).

    python bench/migrate_db.py [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import make_rows, pg_database, store_rate  # noqa: E402
from bot.storage.postgres.migrate import copy_sqlite_to_postgres  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("needs --database-url or TEST_DATABASE_URL (eval \"$(.ci/pg-start)\")")
    with tempfile.TemporaryDirectory() as tmp:
        await store_rate(make_rows(args.rows, channel_id=999), Path(tmp), 500)
        source = Path(tmp) / "store.db"
        print(f"{'migrate-db, ' + format(args.rows, ',') + ' comments':<40}{'rows/s':>10}{'s':>8}")
        for method in ("copy", "executemany"):
            url = await pg_database(args.database_url, f"bench_migrate_{os.getpid()}")
            start = time.perf_counter()
            report = await copy_sqlite_to_postgres(source, url, method=method)
            elapsed = time.perf_counter() - start
            total = sum(copied for _rows, copied in report.values())
            print(f"{method:<40}{total / elapsed:>10,.0f}{elapsed:>8.2f}")
        await pg_database(args.database_url, f"bench_migrate_{os.getpid()}", drop=True)


if __name__ == "__main__":
    asyncio.run(main())
