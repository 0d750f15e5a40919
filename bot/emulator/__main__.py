"""``python -m bot.emulator [--port N]``: serve a seeded emulator until interrupted.

Prints the settings a bot process needs (DISCORD_API_BASE, DISCORD_GATEWAY_URL,
DISCORD_TOKEN, GUILD_ID). State lives in memory only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .emulator import Emulator
from .seed import seed_consultation


async def _serve(port: int) -> None:
    emu = Emulator()
    world = seed_consultation(emu)
    await emu.start(port)
    print(f"DISCORD_API_BASE={emu.api_base}")
    print(f"DISCORD_GATEWAY_URL={emu.gateway_url}")
    print(f"DISCORD_TOKEN={emu.bot_token}")
    print(f"GUILD_ID={world.guild.id}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
