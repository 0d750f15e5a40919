"""The loop-lag probe (LOOP_LAG_PROBE=1) reports how long the event loop was blocked."""

from __future__ import annotations

import asyncio
import json
import time

from bot.runtime.loop_lag import LoopLagProbe


async def test_a_blocked_loop_is_reported_with_when_it_began(tmp_path):
    probe = LoopLagProbe(tmp_path / "lag.json").start()
    await asyncio.sleep(0.05)  # the probe takes a few samples of a free loop
    began = time.time()
    time.sleep(0.25)  # noqa: ASYNC251 - the stall being measured
    await asyncio.sleep(0.05)
    report = await probe.stop()
    assert 240 <= report["max_stall_ms"] < 1000
    assert report["samples"] >= 3
    assert report["stalls_over_100ms"] >= 1 and report["late_s"] >= 0.24
    worst = report["worst"][0]
    assert worst["stall_ms"] == report["max_stall_ms"]
    assert abs(worst["began_at"] - began) < 0.1
    assert json.loads((tmp_path / "lag.json").read_text()) == report



def _stalls_the_loop() -> None:
    time.sleep(0.25)  # the stall whose stack the watchdog should see


async def test_with_stacks_the_report_says_where_the_loop_was_stuck(tmp_path):
    probe = LoopLagProbe(tmp_path / "lag.json", stacks=True).start()
    await asyncio.sleep(0.05)
    _stalls_the_loop()
    await asyncio.sleep(0.05)
    report = await probe.stop()
    (worst, *_) = report["stacks"]
    assert worst["stall_ms"] >= 240
    assert any("_stalls_the_loop" in stack for stack in worst["stacks"])


async def test_without_stacks_the_report_has_none(tmp_path):
    probe = LoopLagProbe(tmp_path / "lag.json").start()
    await asyncio.sleep(0.03)
    report = await probe.stop()
    assert "stacks" not in report
