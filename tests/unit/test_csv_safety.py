"""CSV exports never carry a spreadsheet formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.models import IncomingMessage
from tests.pg import database_env

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PAYLOADS = ["=HYPERLINK(\"http://evil.example.org\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1,2)", "\tleading tab", "\rleading CR"]


async def test_exported_csv_cells_cannot_start_a_formula(repo, tmp_path):
    consultation = await repo.agenda.upsert_consultation(7, "london", "The London Agenda", "")
    item, _ = await repo.agenda.upsert_item(
        consultation.id, "crime", parent_id=None, position=0, title="Item crime",
        summation="Summation.", body="Body.",
    )
    await repo.agenda.save_place(item.id, channel_id=100)
    for n, text in enumerate(PAYLOADS, start=1):
        await repo.discussion.record(item.id, IncomingMessage(
            message_id=n, channel_id=100, author_id=5, content=text, created_at=T0))
    await repo.db.checkpoint()
    out = tmp_path / "out"
    env = {**database_env(repo.db), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "export", "--format", "csv", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with (out / "comments.csv").open(newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    for payload in PAYLOADS:
        assert "'" + payload in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
