"""The interactive rehearsal, driven through a pseudo-terminal like a person at a keyboard."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from bot.rehearsal.interactive import Names, completions

ROOT = Path(__file__).resolve().parents[2]
# The prompt is "user @ place> "; a bare "> " also starts quoted lines in the bot's answers.
PROMPT = re.compile(rb"[a-z]+ @ \S+> ")


class Terminal:
    def __init__(self, args: list[str]) -> None:
        self.fd, child = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_PATH"}
        env["TERM"] = "dumb"
        self.process = subprocess.Popen(args, stdin=child, stdout=child, stderr=child,
                                        cwd=ROOT, env=env, close_fds=True)
        os.close(child)
        self.seen = b""

    def read_until(self, marker: bytes | re.Pattern[bytes], timeout: float = 30) -> str:
        """Everything printed until ``marker`` (a prompt) appears; fails after ``timeout``."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        pattern = marker if isinstance(marker, re.Pattern) else re.compile(re.escape(marker))
        while not pattern.search(self.seen, start):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {marker!r} within {timeout}s; got:\n"
                                     + self.seen[start:].decode(errors="replace"))
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.seen[start:].decode(errors="replace")

    def type(self, line: str, until: bytes | re.Pattern[bytes] = PROMPT) -> str:
        os.write(self.fd, line.encode() + b"\n")
        return self.read_until(until)

    def close(self) -> int:
        try:
            return self.process.wait(20)
        finally:
            os.close(self.fd)


def test_a_person_posts_runs_commands_and_quits(tmp_path):
    out = tmp_path / "out"
    term = Terminal([sys.executable, "-m", "bot", "rehearse", "--interactive",
                     "--no-scenario", "--out", str(out)])
    try:
        banner = term.read_until(b"pat @ #04-tackling-cyber-crime> ", timeout=45)
        assert "Ready: 12 agenda items" in banner

        posted = term.type("Every country should join the 24/7 Network.")
        assert "✓ posted as message 1" in posted

        cited = term.type('/cite url:https://example.org/report note:"A test source"')
        assert "↳ bot (only you): Cited https://example.org/report" in cited
        assert "pat cites a source" in cited and "│ A test source" in cited

        term.type(":user sam")
        term.type(":react 1 👍")
        summary = term.type("/summary topic:budapest")
        assert "(topic: “budapest” → picked “↳ Support for the Budapest Convention" in summary
        assert "│ **Summary: Support for the Budapest Convention on Cybercrime**" in summary
        assert "📎 summary-budapest-convention.md" in summary
        assert (out / "summaries" / "budapest-convention.md").exists()

        refused = term.type("/export")
        assert "Only organisers can export" in refused

        wrong = term.type("/cite nope")
        assert "/cite takes: url:<text> [note:<text>] [topic:<text>]" in wrong

        history = term.type(":history 2")
        assert "pat: Every country should join the 24/7 Network.  👍×1" in history

        term.type(":quit", until=b"Bye.")
    finally:
        status = term.close()
    assert status == 0
    assert (out / "transcript.txt").exists()


NAMES = Names(
    commands={"about": [{"name": "topic", "type": 3, "autocomplete": True}],
              "agenda list": [], "agenda publish": [{"name": "file", "type": 11}],
              "cite": [{"name": "url", "type": 3, "required": True},
                       {"name": "note", "type": 3}, {"name": "topic", "type": 3}],
              "export": [{"name": "format", "type": 3,
                          "choices": [{"name": "CSV", "value": "csv"},
                                      {"name": "JSON", "value": "json"}]},
                         {"name": "include_hidden", "type": 5}]},
    topics=["budapest-convention", "tackling-cyber-crime"],
    users=["alice", "mo", "pat", "sam"],
    channels=["04-tackling-cyber-crime", "general"],
)


def test_tab_completes_commands_options_topics_users_and_channels():
    assert completions("/ci", NAMES) == ["/cite "]
    assert completions("/ag", NAMES) == ["/agenda "]
    assert completions("/agenda ", NAMES) == ["list ", "publish "]
    assert completions("/cite ", NAMES) == ["url:", "note:", "topic:"]
    assert completions("/cite url:https://x.org n", NAMES) == ["note:"]
    assert completions("/cite url:x topic:ta", NAMES) == ["topic:tackling-cyber-crime "]
    assert completions("/export format:j", NAMES) == ["format:json "]
    assert completions("/export include_hidden:", NAMES) == ["include_hidden:true ",
                                                             "include_hidden:false "]
    assert completions(":us", NAMES) == [":user ", ":users "]
    assert completions(":user s", NAMES) == ["sam "]
    assert completions(":channel 04", NAMES) == ["04-tackling-cyber-crime "]
    assert completions("hello wor", NAMES) == []
