"""The `commands.Bot` subclass: it owns the database and loads the cogs."""

from __future__ import annotations

import hashlib
import json
import logging
import pkgutil
from collections.abc import Callable
from datetime import UTC, datetime

import discord
from discord.ext import commands

from bot.runtime.cooldowns import Cooldowns
from bot.runtime.error_handler import on_app_command_error
from bot.runtime.pending import PendingWrites
from bot.settings import Settings
from bot.storage import Repository

log = logging.getLogger(__name__)

# Nothing the bot posts may ping @everyone, @here, a role or a user, whatever the text says.
NO_PINGS = discord.AllowedMentions(everyone=False, roles=False, users=False, replied_user=False)


def bot_intents() -> discord.Intents:
    """Only what the consultation needs (message content is a privileged intent)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    return intents


def cog_modules() -> list[str]:
    import cogs

    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.ispkg)


class ConsultationBot(commands.Bot):
    """Opens the database in `setup_hook`, closes it in `close()`; cogs hold the features."""

    repo: Repository

    def __init__(
        self, settings: Settings, *, clock: Callable[[], datetime] | None = None, **client_options
    ) -> None:
        client_options.setdefault("guild_ready_timeout", 1.0)
        # No message cache: the cogs use raw events, and a cached Message is edited in place
        # by a later MESSAGE_UPDATE before the on_message handler has read it.
        client_options.setdefault("max_messages", None)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            allowed_mentions=NO_PINGS,
            help_command=None,
            **client_options,
        )
        self.settings = settings
        #: "now" for closing dates; tests and rehearsals may move it forward
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.failed_cogs: dict[str, str] = {}
        #: events whose write the database refused, written again when it can
        self.writes = PendingWrites()
        #: per-person limits on costly commands, charged only for real work
        self.cooldowns = Cooldowns()

    async def setup_hook(self) -> None:
        self.repo = await Repository.open(self.settings.database_path)
        self.tree.on_error = on_app_command_error
        for name in cog_modules():
            try:
                await self.load_extension(name)
            except Exception as exc:  # one broken cog must not take the others down
                self.failed_cogs[name] = repr(exc)
                log.exception("cog %s failed to load; the other cogs still run", name)
        await self.sync_commands()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            for cog in list(self.cogs.values()):  # let them finish writes under way
                closing = getattr(cog, "closing", None)
                if closing is not None:
                    try:
                        await closing()
                    except Exception:
                        log.exception("%s did not close cleanly", type(cog).__name__)
            await self.writes.close()
            repo = getattr(self, "repo", None)
            if repo is not None:
                await repo.close()

    async def on_ready(self) -> None:
        """READY of a new session and its guilds received (catch-up starts now); benches
        read this line (bench/scale.py)."""
        log.info("ready: connected to %d guild(s)", len(self.guilds))

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: skip commands.Bot's parsing of every message (under a burst
        it was a tenth of the bot's time). The cogs' listeners still get every message."""

    # --- command sync ----------------------------------------------------------------------

    def command_fingerprint(self, guild: discord.abc.Snowflake | None) -> str:
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands(guild=guild)]
        if guild is not None:
            payload += [c.to_dict(self.tree) for c in self.tree.get_commands(guild=None)]
        blob = json.dumps(sorted(payload, key=lambda c: (c.get("type", 1), c["name"])),
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    async def sync_commands(self) -> bool:
        """Sync app commands only when they changed (Discord limits creations per day).

        With GUILD_ID the commands go to that server at once; otherwise globally.
        """
        guild = discord.Object(self.settings.guild_id) if self.settings.guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        scope = f"guild:{guild.id}" if guild else "global"
        fingerprint = self.command_fingerprint(guild)
        if await self.repo.insight.get_meta(f"commands:{scope}") == fingerprint:
            log.info("app commands unchanged (%s); not syncing", scope)
            return False
        await self.tree.sync(guild=guild)
        await self.repo.insight.set_meta(f"commands:{scope}", fingerprint)
        log.info("app commands synced (%s)", scope)
        return True

