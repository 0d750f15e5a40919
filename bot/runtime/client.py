"""The `commands.Bot` subclass: it owns the database and loads the cogs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import pkgutil
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

import discord
from discord.ext import commands

from bot.core.heap import release_long_lived, settle_long_lived
from bot.runtime.cooldowns import Cooldowns
from bot.runtime.error_handler import on_app_command_error
from bot.runtime.pending import PendingWrites
from bot.settings import Settings
from bot.storage import Repository

log = logging.getLogger(__name__)

# Nothing the bot posts may ping @everyone, @here, a role or a user, whatever the text says.
NO_PINGS = discord.AllowedMentions(everyone=False, roles=False, users=False, replied_user=False)
#: seconds a command sync claim holds before another process may take it over
SYNC_LEASE = 300


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
        #: who this process is in the claims on once-only work (see bot.storage.claim_store)
        self.process_id = f"{os.getpid()}-{secrets.token_hex(4)}"

    # --- sharding --------------------------------------------------------------------------

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether this process's shards get the guild's events, so that its per-guild work
        (catch-up, publishing, closing dates, reminders, notices) is this process's to do.
        Unsharded, the one process owns every guild."""
        shards = self.settings.shards
        if shards is None or guild_id is None:
            return True
        count, ids = shards
        return (int(guild_id) >> 22) % count in ids

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str):
        """``async with bot.exclusive(name) as got:`` — on a database with ``exclusive``
        (PostgreSQL: an advisory lock across processes), only one holder at a time gets
        True; otherwise always True. The decisive step stays a claim in the database."""
        db = getattr(getattr(self, "repo", None), "db", None)
        exclusive = getattr(db, "exclusive", None)
        if exclusive is None:
            yield True
            return
        async with exclusive(name) as got:
            yield got

    def owned_items(self, items):
        """The items of guilds this process owns (see :meth:`owns_guild`)."""
        return [i for i in items if self.owns_guild(i.guild_id)]

    async def setup_hook(self) -> None:
        self.repo = await Repository.open(self.settings.database)
        self.tree.on_error = on_app_command_error
        for name in cog_modules():
            try:
                await self.load_extension(name)
            except Exception as exc:  # one broken cog must not take the others down
                self.failed_cogs[name] = repr(exc)
                log.exception("cog %s failed to load; the other cogs still run", name)
        await self.sync_commands()
        # everything imported and loaded lives as long as the process: out of the
        # collector's full passes, each a stall of the loop (see bot.core.heap)
        settle_long_lived()

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
            release_long_lived()

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
        # Several shard processes start together: one of them syncs. The claim decides; one
        # whose process dies before it is done lapses after SYNC_LEASE seconds.
        key = f"sync:{scope}:{fingerprint}"
        async with self.exclusive(f"sync:{scope}") as got:
            if not got or not await self.repo.claims.claim(key, self.process_id,
                                                           now=int(time.time()), lease=SYNC_LEASE):
                log.info("app commands (%s) are synced by another process", scope)
                return False
            try:
                await self.tree.sync(guild=guild)
            except BaseException:
                await self.repo.claims.release(key, self.process_id)
                raise
            await self.repo.insight.set_meta(f"commands:{scope}", fingerprint)
            await self.repo.claims.done(key, self.process_id, now=int(time.time()))
        log.info("app commands synced (%s)", scope)
        return True


#: Discord lets one IDENTIFY start per rate-limit bucket (shard id % max_concurrency) every
#: 5 seconds (discord-api-docs, Gateway → Session Start Limit).
IDENTIFY_INTERVAL = 5.0


class ShardedConsultationBot(ConsultationBot, commands.AutoShardedBot):
    """The bot with SHARD_COUNT/SHARD_IDS: this process runs those shards of the bot.

    Several processes (each a range of shards) share one database; what must happen once
    is claimed in it (see bot.storage.claim_store), and per-guild work runs only in the
    process owning the guild (``owns_guild``)."""

    def __init__(self, settings: Settings, **client_options) -> None:
        count, ids = settings.shards
        client_options.setdefault("shard_count", count)
        client_options.setdefault("shard_ids", list(ids))
        super().__init__(settings, **client_options)
        self._max_concurrency = 1
        self._identified: dict[int, float] = {}  # rate-limit bucket -> last IDENTIFY (monotonic)
        self._identify_lock = asyncio.Lock()

    async def setup_hook(self) -> None:
        try:
            recommended, _url, limits = await self.http.get_bot_gateway()
        except discord.HTTPException as exc:
            log.warning("could not read /gateway/bot (%s); identifying one shard per 5 s", exc)
        else:
            self._max_concurrency = max(1, int(limits.get("max_concurrency") or 1))
            if recommended > self.shard_count:
                log.warning("Discord recommends %d shards; SHARD_COUNT is %d", recommended,
                            self.shard_count)
        await super().setup_hook()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait only as Discord requires: 5 s since the last IDENTIFY of this shard's bucket
        (discord.py's default waits 5 s before every shard but the first)."""
        bucket = (shard_id or 0) % self._max_concurrency
        async with self._identify_lock:
            last = self._identified.get(bucket)
            if last is not None:
                wait = last + IDENTIFY_INTERVAL - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._identified[bucket] = time.monotonic()


def create_bot(settings: Settings, **client_options) -> ConsultationBot:
    """The bot the settings ask for: sharded with SHARD_COUNT, else the one-process bot."""
    if settings.shards is not None:
        return ShardedConsultationBot(settings, **client_options)
    return ConsultationBot(settings, **client_options)

