"""`python -m bot …` / `consultation-bot …`: run the bot and its offline tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from bot.discord_urls import point_discord_py_at
from bot.logging_setup import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.storage.database import DatabaseError

EXIT_USAGE = 2

log = logging.getLogger(__name__)

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand `python -m bot NAME` (each feature module adds its own)."""

    def wrap(func):
        COMMANDS[name] = (help_text, configure, func)
        return func

    return wrap


@command("run", "connect to Discord (or DISCORD_API_BASE/DISCORD_GATEWAY_URL) and run the bot",
         lambda parser: None)
def run(args: argparse.Namespace, settings: Settings) -> int:
    token = settings.require_token()
    configure_logging(settings.log_level, secrets=[token], log_content=settings.log_content)
    # Fail fast, before connecting: a database that cannot be written would lose every
    # comment while the bot seemed well. Raises DatabaseError (one line, exit 2).
    try:
        asyncio.run(_check_database(settings.database))
    except KeyboardInterrupt:
        return 0
    point_discord_py_at(settings.discord_api_base, settings.discord_gateway_url)
    import discord

    from bot.runtime.client import create_bot
    from bot.runtime.loop_lag import LoopLagProbe

    bot = create_bot(settings)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        closing: list[asyncio.Task] = []

        def stop(sig: signal.Signals) -> None:
            if not closing:
                log.info("%s received: shutting down", sig.name)
                closing.append(asyncio.create_task(bot.close()))

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig)
        probe = None
        if settings.loop_lag_probe:
            probe = LoopLagProbe(settings.loop_lag_report, stacks=settings.loop_lag_stacks).start()
        try:
            async with bot:  # closes the bot (and checkpoints the database) however start ends
                await bot.start(token)
            if closing:
                await closing[0]
        finally:
            if probe is not None:
                await probe.stop()

    try:
        asyncio.run(main())
    except discord.LoginFailure:
        print("error: Discord refused the token: check DISCORD_TOKEN (reset it in the developer "
              "portal if it leaked)", file=sys.stderr)
        return EXIT_USAGE
    except discord.PrivilegedIntentsRequired:
        print("error: enable the Message Content intent for the bot in the developer portal "
              "(Bot → Privileged Gateway Intents)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    return 0


async def _check_database(path) -> None:
    from bot.storage import open_database

    db = await open_database(path)
    await db.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="consultation-bot: run a public consultation in a Discord server.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, configure, _func) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _load_subcommands()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        return COMMANDS[args.command][2](args, settings) or 0
    except (SettingsError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _load_subcommands() -> None:
    """Import the modules that register more subcommands."""
    import bot.cli_commands  # noqa: F401
    import bot.rehearsal  # noqa: F401


if __name__ == "__main__":
    sys.exit(main())
