"""The bot as its own process (`python -m bot run`) against the in-test emulator: for what
only a real process shows (signals, exit status, what reaches its log)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from tests.e2e.conftest import LONDON, ROOT


def bot_env(emulator, database: Path, **extra: str) -> dict[str, str]:
    emu = emulator.emu
    return {"PATH": os.environ["PATH"], "DISCORD_TOKEN": emu.bot_token,
            "DISCORD_API_BASE": emu.api_base, "DISCORD_GATEWAY_URL": emu.gateway_url,
            "GUILD_ID": str(emulator.guild.id), "AGENDA_FILE": str(LONDON),
            "DATABASE_PATH": str(database), **extra}


class BotProcess:
    """`python -m bot run` in a subprocess; its stderr (the log) goes to `log_path`."""

    def __init__(self, emulator, env: dict[str, str], log_path: Path,
                 argv: list[str] | None = None) -> None:
        self.emulator = emulator
        self.env = env
        self.log_path = log_path
        self.argv = argv or [sys.executable, "-m", "bot", "run"]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 30.0) -> BotProcess:
        """Start and wait until the bot is connected (its setup hook and sync are done)."""
        with open(self.log_path, "wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=ROOT, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log)
        emu = self.emulator.emu
        await emu.wait_for(lambda: emu.connected or self.proc.returncode is not None, timeout)
        if self.proc.returncode is not None:
            raise RuntimeError(f"the bot exited ({self.proc.returncode}): {self.log()}")
        return self

    async def wait(self, timeout: float = 30.0) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.proc.send_signal(sig)
        return await self.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def count_rows(database: Path, sql: str, params: tuple = ()) -> int:
    """Read the bot's database from outside, as another process would (read-only)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()
