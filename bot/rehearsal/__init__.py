"""`python -m bot rehearse`: a whole consultation on the offline Discord emulator.

The real bot (``ConsultationBot``, all cogs) connects to the project's loopback Discord
emulator with the same settings path as ``python -m bot run``; the organiser publishes an
agenda, simulated participants play a scenario (``data/scenarios/london-2011.toml``), then
summaries, the map and the export are requested. ``--interactive`` lets you act yourself.

Modules: :mod:`.scenario` (the scenario file), :mod:`.world` (emulator + bot),
:mod:`.runner` (the scripted rehearsal), :mod:`.transcript` (rendering),
:mod:`.interactive` (the terminal session).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli import EXIT_USAGE, command
from bot.settings import Settings


def _arguments(parser: argparse.ArgumentParser) -> None:
    from bot.rehearsal.runner import DEFAULT_AGENDA, DEFAULT_SCENARIO

    here = Path.cwd()

    def shown(path: Path) -> str:
        return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)

    parser.add_argument("--agenda", type=Path, default=DEFAULT_AGENDA,
                        help=f"the agenda to publish (default: {shown(DEFAULT_AGENDA)})")
    parser.add_argument("--scenario", type=Path, default=None,
                        help=f"the scenario to play (default: {shown(DEFAULT_SCENARIO)})")
    parser.add_argument("--no-scenario", action="store_true",
                        help="only publish the agenda (then summaries, map and export, or "
                             "your own actions with --interactive)")
    parser.add_argument("--out", type=Path, default=Path("rehearsal"),
                        help="where the report, map, summaries, data files and transcript go "
                             "(default: rehearsal/)")
    parser.add_argument("--interactive", "-i", action="store_true",
                        help="after the setup, act yourself in the terminal (:help lists how)")
    parser.add_argument("--full", action="store_true",
                        help="print embeds in full (transcript.txt always has everything)")
    parser.epilog = (
        "The bot uses a temporary database unless DATABASE_PATH is set in the environment "
        "(a DATABASE_PATH in .env is ignored, so a rehearsal never writes into the database "
        "the real bot uses). Exit status: 0 when every step went as expected, 1 when a step "
        "failed, 2 for a bad agenda or scenario file."
    )


@command("rehearse", "play a whole consultation offline: the real bot on the Discord emulator",
         _arguments)
def rehearse(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.agenda import AgendaInvalid
    from bot.rehearsal.runner import DEFAULT_SCENARIO, Options, database_from_environment
    from bot.rehearsal.scenario import ScenarioInvalid

    if args.no_scenario and args.scenario:
        print("error: --scenario and --no-scenario do not go together", file=sys.stderr)
        return EXIT_USAGE
    options = Options(
        agenda=args.agenda,
        scenario=None if args.no_scenario else (args.scenario or DEFAULT_SCENARIO),
        out=args.out,
        database=database_from_environment(),
        log_level=settings.log_level,
        print_limit=None if args.full else Options.print_limit,
    )
    try:
        if args.interactive:
            from bot.rehearsal.interactive import run_interactive

            return run_interactive(options)
        from bot.rehearsal.runner import rehearse as play

        outcome = asyncio.run(play(options))
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc} does not exist", file=sys.stderr)
        return EXIT_USAGE
    except AgendaInvalid as exc:
        print(f"{args.agenda}: {exc.format()}", file=sys.stderr)
        return EXIT_USAGE
    except ScenarioInvalid as exc:
        print(exc.format(), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0 if outcome.ok else 1
