"""The readable transcript: what each user did and what the bot answered, as plain text.

Discord's rich content is rendered the way a reader sees it: embeds become indented
blocks (author, title, description, fields, footer), Markdown links show their text,
mentions show names, ``<t:…>`` timestamps show a date, buttons show their labels, and
attached files are saved to disk and shown with their path.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.emulator import Emulator, Message

_LINK = re.compile(r"\[([^\]\n]+)\]\(<?(https?://[^)\s>]+)>?\)")
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_TIME = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_EMOJI = re.compile(r"<a?(:\w+:)\d+>")

EMBED_BAR = "│ "


@dataclass
class Transcript:
    """Prints lines as they happen (progress) and keeps them for ``transcript.txt``."""

    stream: TextIO | None = field(default_factory=lambda: sys.stdout)
    lines: list[str] = field(default_factory=list)
    #: at most this many lines of one embed's description/field are printed (all are kept)
    print_limit: int | None = None

    def write(self, text: str = "", *, full: list[str] | None = None) -> None:
        """Print ``text`` (one or more lines); keep ``full`` instead when given."""
        self.lines.extend(full if full is not None else text.split("\n"))
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines).rstrip() + "\n", encoding="utf-8")
        return path


# --------------------------------------------------------------------------- names


def place_name(emu: Emulator, channel_id: int) -> str:
    """``#04-tackling-cyber-crime``, or ``#04-tackling-cyber-crime › Thread name``."""
    channel = emu.state.channels.get(channel_id)
    if channel is None:
        return f"#{channel_id}"
    if channel.parent_id and channel.type in (10, 11, 12):
        parent = emu.state.channels.get(channel.parent_id)
        return f"#{parent.name if parent else channel.parent_id} › {channel.name}"
    return f"#{channel.name}"


def user_name(emu: Emulator, user_id: int) -> str:
    user = emu.state.users.get(user_id)
    if user is None:
        return str(user_id)
    return "bot" if user_id == emu.bot_user.id else user.username


def plain(emu: Emulator, text: str) -> str:
    """Discord markup as a reader sees it."""

    def link(m: re.Match[str]) -> str:
        label = m.group(1)
        return f"[{label}]" if label.isdigit() else label

    def when(m: re.Match[str]) -> str:
        moment = datetime.fromtimestamp(int(m.group(1)), UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    def role(m: re.Match[str]) -> str:
        for guild in emu.state.guilds.values():
            r = guild.roles.get(int(m.group(1)))
            if r is not None:
                return f"@{r.name}"
        return "@role"

    text = _LINK.sub(link, text)
    text = _USER.sub(lambda m: f"@{user_name(emu, int(m.group(1)))}", text)
    text = _ROLE.sub(role, text)
    text = _CHANNEL.sub(lambda m: place_name(emu, int(m.group(1))), text)
    text = _TIME.sub(when, text)
    text = _EMOJI.sub(lambda m: m.group(1), text)
    return text


# --------------------------------------------------------------------------- messages


def render_embed(emu: Emulator, embed: dict[str, Any], limit: int | None = None) -> list[str]:
    """An embed as indented lines; ``limit`` caps the lines of each long text part."""
    if embed.get("type") == "link":  # Discord's own link preview
        return [f"{EMBED_BAR}🔗 {embed.get('title') or embed.get('url', '')}"]
    out: list[str] = []

    def block(text: str, indent: str = "") -> None:
        lines = plain(emu, text).split("\n")
        if limit is not None and len(lines) > limit:
            lines = lines[:limit] + [f"… ({len(lines) - limit} more lines in transcript.txt)"]
        out.extend(f"{EMBED_BAR}{indent}{line}" for line in lines)

    if (embed.get("author") or {}).get("name"):
        block(embed["author"]["name"])
    if embed.get("title"):
        block(f"**{embed['title']}**")
    if embed.get("description"):
        block(embed["description"])
    for f in embed.get("fields") or []:
        block(f"▸ {f.get('name', '')}")
        block(f.get("value", ""), "  ")
    image = (embed.get("image") or {}).get("url")
    if image:
        out.append(f"{EMBED_BAR}(picture: {image.removeprefix('attachment://')})")
    if (embed.get("footer") or {}).get("text"):
        block(f"— {embed['footer']['text']}")
    return out


def render_components(components: list[dict[str, Any]]) -> list[str]:
    labels = []
    for row in components or []:
        for c in row.get("components") or []:
            label = c.get("label") or c.get("placeholder") or c.get("custom_id")
            labels.append(f"[{label}{' (disabled)' if c.get('disabled') else ''}]")
    return ["    " + " ".join(labels)] if labels else []


def render_message(emu: Emulator, message: Message, *, saved: dict[str, Path] | None = None,
                   limit: int | None = None, arrow: str = "↳") -> list[str]:
    """A bot message: ``  ↳ bot (only you): text``, then its embeds, buttons and files."""
    who = user_name(emu, message.author_id)
    if message.ephemeral:
        who += " (only you)"
    text = plain(emu, message.content or "")
    first, *rest = text.split("\n") if text else [""]
    out = [f"  {arrow} {who}: {first}".rstrip()]
    out += [f"    {line}" for line in rest]
    for embed in message.embeds:
        out += [f"    {line}" for line in render_embed(emu, embed, limit)]
    out += render_components(message.components)
    for attachment in message.attachments:
        path = (saved or {}).get(attachment.filename)
        size = f"{len(attachment.data):,} bytes"
        out.append(f"    📎 {attachment.filename} ({size})" + (f" → {path}" if path else ""))
    return out





# --------------------------------------------------------------------------- files


def destination(out: Path, filename: str, consultation_key: str | None = None) -> Path:
    """Where a file the bot attached is saved under ``out``.

    ``summary-<item>.md`` / ``.png`` (its chart) → ``summaries/<item>.md`` / ``.png``;
    ``map.png`` / ``map.md`` → ``out``; the export's ``<consultation>-report.md`` and
    ``-report.html`` → ``report.md`` / ``report.html`` and its data files → ``data/``;
    anything else → ``files/``.
    """
    if filename.startswith("summary-") and filename.endswith((".md", ".png")):
        return out / "summaries" / filename.removeprefix("summary-")
    if filename in ("map.png", "map.md"):
        return out / filename
    name = filename
    if consultation_key and name.startswith(consultation_key + "-"):
        name = name.removeprefix(consultation_key + "-")
        if name in ("report.md", "report.html"):
            return out / name
        return out / "data" / name
    return out / "files" / name


def save_attachments(out: Path, messages: list[Message],
                     consultation_key: str | None = None) -> dict[str, Path]:
    """Write every attachment of ``messages`` under ``out``; returns filename → path."""
    saved: dict[str, Path] = {}
    for message in messages:
        for attachment in message.attachments:
            path = destination(out, attachment.filename, consultation_key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(attachment.data)
            saved[attachment.filename] = path
    return saved
