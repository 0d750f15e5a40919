"""Running a discord.py client against an :class:`Emulator` in the same event loop."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from . import point_discord_py_at, restore_discord_py
from .emulator import Emulator


class ClientRunner:
    """Starts ``client.start(emu.bot_token)`` as a task and waits for ``on_ready``.

    discord.py keeps its REST base and gateway URL in class attributes; the runner points
    them at the emulator and restores them in :meth:`close`.
    Pass ``guild_ready_timeout=0.05`` (a ``discord.Client`` kwarg) to the client so that
    ``on_ready`` fires right after the GUILD_CREATEs instead of 2 s later.
    """

    def __init__(self, client: Any, emu: Emulator) -> None:
        self.client = client
        self.emu = emu
        self.task: asyncio.Task[None] | None = None
        self._previous: tuple[str, object] | None = None

    async def start(self, timeout: float = 5.0) -> Any:
        self._previous = point_discord_py_at(self.emu.api_base, self.emu.gateway_url)
        ready = asyncio.Event()

        async def _on_ready() -> None:
            ready.set()

        self.client.add_listener(_on_ready, "on_ready")
        self.task = asyncio.create_task(self.client.start(self.emu.bot_token))
        waiter = asyncio.create_task(ready.wait())
        try:
            done, _ = await asyncio.wait({self.task, waiter}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            self.client.remove_listener(_on_ready, "on_ready")
        if self.task in done:
            await self.close()
            exc = self.task.exception()
            raise RuntimeError("the client stopped before it was ready") from exc
        if not ready.is_set():
            await self.close()
            raise TimeoutError(f"the client was not ready within {timeout}s")
        return self.client

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()
        if self.task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.task, 5)
        if self._previous is not None:
            restore_discord_py(self._previous)
            self._previous = None


@contextlib.asynccontextmanager
async def running_client(client: Any, emu: Emulator, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """``async with running_client(bot, emu): ...`` — a connected, ready client."""
    runner = ClientRunner(client, emu)
    await runner.start(timeout)
    try:
        yield client
    finally:
        await runner.close()
