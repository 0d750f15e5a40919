import time

from .bots import EmuBot


async def test_login_and_cache(emulator, start_client):
    emu = emulator.emu
    chan = emu.create_text_channel(emulator.guild.id, "General Chat")
    t0 = time.perf_counter()
    bot = EmuBot()
    await start_client(bot, emu)
    print("startup", time.perf_counter() - t0)
    g = bot.get_guild(emulator.guild.id)
    assert g is not None and g.name == "Consultation"
    assert g.get_channel(chan.id).name == "general-chat"
    assert g.me is not None
    assert g.get_member(emulator.alice.id).name == "alice"
    r = await emu.slash(emulator.alice.id, chan.id, "ping", {"text": "hi", "times": 2})
    assert r.content == "pong hi 2 False"
