"""Subcommands beyond `run`: check-agenda, export, migrate-db and compact (rehearse lives in
bot.rehearsal)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli import EXIT_USAGE, command
from bot.settings import Settings


def _check_agenda_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the agenda file (.toml)")


@command("check-agenda", "check an agenda file and list every problem in it", _check_agenda_args)
def check_agenda(args: argparse.Namespace, _settings: Settings) -> int:
    from bot.core.agenda import AgendaInvalid, load_agenda

    try:
        spec = load_agenda(args.file)
    except FileNotFoundError:
        print(f"error: {args.file} does not exist", file=sys.stderr)
        return EXIT_USAGE
    except AgendaInvalid as exc:
        print(exc.format(), file=sys.stderr)
        return 1
    items = list(spec.walk())
    subs = sum(1 for _path, _item, parent in items if parent)
    print(f"{args.file}: OK — “{spec.title}”, {len(items) - subs} items and {subs} sub-items")
    return 0


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["md", "html", "csv", "json", "all"], default="all",
                        help="Markdown report, HTML report (with the map and charts, printable "
                             "to PDF), CSV or JSON data files, or all (default)")
    parser.add_argument("--out", type=Path, default=Path("export"), help="output folder")
    parser.add_argument("--guild", type=int, help="only this server's consultations")
    parser.add_argument("--include-hidden", action="store_true",
                        help="also export comments moderators hid (never deleted or erased ones)")


@command("export", "write the consultation report and data files from the database", _export_args)
def export(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None and not settings.database_path.exists():
        print(f"error: no database at {settings.database_path} (set DATABASE_PATH)", file=sys.stderr)
        return EXIT_USAGE
    written = asyncio.run(_export(settings, args))
    if not written:
        print("nothing to export: no consultation has been published yet", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> list[Path]:
    from bot.core.insight import InsightService
    from bot.core.report import ReportBuilder
    from bot.storage import Repository

    repo = await Repository.open(settings.database)
    try:
        builder = ReportBuilder(repo, InsightService(repo, settings.agree_emojis, settings.disagree_emojis,
                                                      settings.pass_emojis))
        consultations = await repo.agenda.consultations(args.guild)
        written = []
        for consultation in consultations:
            folder = args.out / consultation.key if len(consultations) > 1 else args.out
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in (await builder.build(consultation, args.format,
                                                   include_hidden=args.include_hidden)).items():
                (folder / name).write_bytes(data)
                written.append(folder / name)
        return written
    finally:
        await repo.close()


def _migrate_db_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH",
                        help="the SQLite database file to copy, e.g. sqlite:data/consultation.db")
    parser.add_argument("--to", dest="target", required=True, metavar="postgresql://…",
                        help="the PostgreSQL database to copy into (migrated first)")
    parser.add_argument("--method", choices=["copy", "executemany"], default="copy",
                        help=argparse.SUPPRESS)


@command("migrate-db", "copy a consultation from a SQLite file into PostgreSQL (safe to re-run)",
         _migrate_db_args)
def migrate_db(args: argparse.Namespace, _settings: Settings) -> int:
    from bot.storage import is_database_url
    from bot.storage.postgres.migrate import copy_sqlite_to_postgres

    if not args.source.startswith("sqlite:"):
        print("error: --from must be sqlite:PATH, e.g. sqlite:data/consultation.db", file=sys.stderr)
        return EXIT_USAGE
    if not is_database_url(args.target):
        print("error: --to must be a postgresql:// URL, e.g. "
              "postgresql://bot:password@127.0.0.1:5432/consultation", file=sys.stderr)
        return EXIT_USAGE
    source = Path(args.source.removeprefix("sqlite:"))
    report = asyncio.run(copy_sqlite_to_postgres(source, args.target, method=args.method))
    width = max(len(t) for t in report)
    for table, (rows, copied) in report.items():
        print(f"{table:<{width}}  {rows:>9} rows  {copied:>9} copied  ✓ counts match")
    print(f"copied {sum(c for _r, c in report.values())} rows of "
          f"{sum(r for r, _c in report.values())}; every table's count matches")
    return 0


def _compact_args(_parser: argparse.ArgumentParser) -> None:
    """No options: it compacts the file DATABASE_PATH names."""


@command("compact", "give the SQLite file's free space (left by deletions or a migration) back "
                    "to the disk; stop the bot first", _compact_args)
def compact(_args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is not None:
        print("nothing to do: PostgreSQL gives free space back by itself (autovacuum)")
        return 0
    path = settings.database_path
    if not path.is_file():
        print(f"error: {path} does not exist (DATABASE_PATH)", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_compact(path))


async def _compact(path: Path) -> int:
    import shutil
    import sqlite3

    from bot.storage.database import Database

    db = await Database.open(path)
    try:
        size, free = await db.space()
        # VACUUM writes a whole new copy of the live pages before it replaces the old ones
        room = shutil.disk_usage(path.resolve().parent).free
        if room < size - free:
            print(f"error: compacting {path} needs about {(size - free) / 1e6:,.0f} MB free on "
                  f"its disk, and {room / 1e6:,.0f} MB are: free some space first; nothing "
                  "was changed", file=sys.stderr)
            return 1
        try:
            await db.vacuum()
        except sqlite3.OperationalError as exc:
            print(f"error: could not compact {path} ({exc}): stop the bot (and any other "
                  "program using the file) and run this again; nothing was changed",
                  file=sys.stderr)
            return 1
        after, _ = await db.space()
    finally:
        await db.close()
    print(f"{path}: {size / 1e6:,.1f} MB → {after / 1e6:,.1f} MB "
          f"({(size - after) / 1e6:,.1f} MB given back to the disk)")
    return 0
