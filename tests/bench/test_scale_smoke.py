"""bench/scale.py at a tiny size, so that the national-scale bench cannot rot: it builds its
world through the repository, runs the real bot process through the emulator and writes
every figure. (Its figures at this size say nothing about speed: only that each was
measured.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.scale import FIELDS, world_for
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.bench_smoke


def run_scale(tmp_path) -> dict:
    out = tmp_path / "scale.json"
    done = subprocess.run(
        [sys.executable, "bench/scale.py", "--comments", "2000", "--burst", "150",
         "--cache-dir", str(tmp_path / "cache"), "--json", str(out), "--step-timeout", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "start to warm, s" in done.stdout and "target (1M)" in done.stdout
    return json.loads(out.read_text())


async def test_scale_bench_measures_every_figure_and_keeps_its_world(tmp_path):
    first = run_scale(tmp_path)
    (run,) = first["runs"]
    assert set(FIELDS) <= set(run), set(FIELDS) - set(run)
    assert run["comments"] == 2000 and run["built_in_this_run"] is True
    assert 0 < run["ready_s"] <= run["warm_s"] < 60
    assert 50 < run["rss_at_warm_mb"] <= run["peak_rss_mb"] < 4000
    assert run["loop_probe_samples"] > 10 and 0 <= run["max_loop_stall_ms"] < 60_000
    for key in ("about_s", "about_after_comment_s", "summary_cold_s", "summary_warm_s", "map_s"):
        assert 0 < run[key] < 60, key
    assert run["live_ingest_per_s"] > 0 and run["raw_sqlite_txn_per_s"] > 0
    assert run["live_ingest_ratio"] == pytest.approx(
        run["live_ingest_per_s"] / run["raw_sqlite_txn_per_s"], abs=0.001)
    assert 0 < run["bytes_per_comment"] < 100_000
    # a normal restart: the built world is consistent with what the emulator holds
    assert run["catchup"]["recorded"] == 0 and run["catchup"]["deleted"] == 0
    assert run["messages_in_emulator"] > 0 and run["reactions"] > 0
    assert run["failures"] == []  # no command missed its deadline
    assert first["targets"]["warm_s"] == {"op": "<=", "value": 10.0}

    # the world is cached by schema and size: a second run measures it without building
    cached = await world_for(2000, tmp_path / "cache", log=lambda *a, **k: None)
    assert not cached.built_now and cached.meta["cache_key"] == run["cache_key"]
    assert cached.meta["build_s"] == run["build_s"]
