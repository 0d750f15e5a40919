"""A small discord.py bot defined for the emulator tests: app commands, a context menu,
a modal, a button, autocomplete, a deferred answer, file upload, and event recording."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
       b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00"
       b"\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


class Feedback(discord.ui.Modal, title="Feedback"):
    heading = discord.ui.TextInput(label="Title", custom_id="title", max_length=100)
    body = discord.ui.TextInput(label="Body", custom_id="body", style=discord.TextStyle.long,
                                max_length=4000, required=False)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"got {self.heading.value}|{self.body.value}", ephemeral=True)


class TooBig(discord.ui.Modal, title="Too big"):
    """discord.py itself stops at 5 children, so the 6th input is added at serialisation."""

    def __init__(self, long_input: bool = False) -> None:
        super().__init__()
        self.extra = not long_input
        for i in range(5):
            self.add_item(discord.ui.TextInput(label=f"f{i}", custom_id=f"f{i}"))
        if long_input:
            self.children[0].max_length = 5000

    def to_components(self) -> list[dict[str, Any]]:
        rows = super().to_components()
        if self.extra:
            rows.append({"type": 1, "components": [
                {"type": 4, "custom_id": "f5", "label": "f5", "style": 1}]})
        return rows


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.clicked_by: list[int] = []

    @discord.ui.button(label="Confirm", custom_id="confirm", style=discord.ButtonStyle.green)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.clicked_by.append(interaction.user.id)
        await interaction.response.edit_message(content="confirmed", view=None)


class EmuBot(commands.Bot):
    """Records every event it sees in ``self.seen[event_name]``."""

    def __init__(self, **kw: Any) -> None:
        intents = kw.pop("intents", discord.Intents.all())
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.01, **kw)
        self.seen: dict[str, list[Any]] = defaultdict(list)
        self.release = asyncio.Event()
        self.errors: list[BaseException] = []
        self.views: list[Confirm] = []
        self._add_commands()

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; not against the emulator."""

    def record(self, name: str, *args: Any) -> None:
        self.seen[name].append(args[0] if len(args) == 1 else args)

    async def on_message(self, m: discord.Message) -> None:
        self.record("message", m)
        await self.process_commands(m)

    async def on_message_edit(self, b: Any, a: Any) -> None:
        self.record("message_edit", b, a)

    async def on_raw_message_edit(self, p: Any) -> None:
        self.record("raw_message_edit", p)

    async def on_raw_message_delete(self, p: Any) -> None:
        self.record("raw_message_delete", p)

    async def on_raw_bulk_message_delete(self, p: Any) -> None:
        self.record("raw_bulk_message_delete", p)

    async def on_raw_reaction_add(self, p: Any) -> None:
        self.record("raw_reaction_add", p)

    async def on_raw_reaction_clear(self, p: Any) -> None:
        self.record("raw_reaction_clear", p)

    async def on_raw_reaction_clear_emoji(self, p: Any) -> None:
        self.record("raw_reaction_clear_emoji", p)

    async def on_raw_reaction_remove(self, p: Any) -> None:
        self.record("raw_reaction_remove", p)

    async def on_guild_channel_create(self, c: Any) -> None:
        self.record("guild_channel_create", c)

    async def on_guild_channel_update(self, b: Any, a: Any) -> None:
        self.record("guild_channel_update", b, a)

    async def on_guild_channel_delete(self, c: Any) -> None:
        self.record("guild_channel_delete", c)

    async def on_thread_create(self, t: Any) -> None:
        self.record("thread_create", t)

    async def on_thread_update(self, b: Any, a: Any) -> None:
        self.record("thread_update", b, a)

    async def on_thread_delete(self, t: Any) -> None:
        self.record("thread_delete", t)

    async def on_resumed(self) -> None:
        self.record("resumed", None)

    async def on_connect(self) -> None:
        self.record("connect", None)

    def _add_commands(self) -> None:
        tree = self.tree
        bot = self

        @tree.command(name="ping", description="Answer pong")
        async def ping(interaction: discord.Interaction, text: str = "",
                       times: int = 1, loud: bool = False) -> None:
            await interaction.response.send_message(f"pong {text} {times} {loud}".strip())

        @tree.command(name="secret", description="Ephemeral answer")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("only you", ephemeral=True)

        @tree.command(name="slow", description="Deferred answer with a follow-up")
        async def slow(interaction: discord.Interaction, ephemeral: bool = False) -> None:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            await bot.release.wait()
            await interaction.followup.send("done", ephemeral=ephemeral)
            await interaction.followup.send("and more", ephemeral=True)

        @tree.command(name="late", description="Answers after bot.release is set")
        async def late(interaction: discord.Interaction) -> None:
            await bot.release.wait()
            try:
                await interaction.response.send_message("too late?")
            except discord.HTTPException as e:
                bot.errors.append(e)

        @tree.command(name="edit-later", description="Defers, then edits the original")
        async def edit_later(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await bot.release.wait()
            try:
                await interaction.edit_original_response(content="edited")
            except discord.HTTPException as e:
                bot.errors.append(e)

        @tree.command(name="picture", description="Upload a PNG")
        async def picture(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "map", file=discord.File(io.BytesIO(PNG), filename="map.png"))

        @tree.command(name="echo-file", description="Read an attachment")
        async def echo_file(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()
            await interaction.response.send_message(f"{file.filename}:{len(data)}:{data[:5]!r}")

        @tree.command(name="feedback", description="Open a modal")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        @tree.command(name="toobig", description="A modal with 6 inputs")
        async def toobig(interaction: discord.Interaction, long_input: bool = False) -> None:
            try:
                await interaction.response.send_modal(TooBig(long_input))
            except discord.HTTPException as e:
                bot.errors.append(e)

        @tree.command(name="confirm", description="Send a button")
        async def confirm(interaction: discord.Interaction) -> None:
            view = Confirm()
            bot.views.append(view)
            await interaction.response.send_message("sure?", view=view)

        @tree.command(name="who", description="Typed options")
        async def who(interaction: discord.Interaction, member: discord.Member,
                      where: discord.TextChannel) -> None:
            await interaction.response.send_message(f"{member.name} in {where.name}")

        async def passage_ac(interaction: discord.Interaction,
                             current: str) -> list[app_commands.Choice[str]]:
            words = ["crime", "criminal", "crimson", "cyber", "space"]
            n = 30 if current == "many" else 25
            if current == "many":
                words = [f"w{i}" for i in range(n)]
            return [app_commands.Choice(name=w, value=w) for w in words if current in w or
                    current == "many"][:n]

        @tree.command(name="quote", description="Quote a passage")
        @app_commands.autocomplete(passage=passage_ac)
        async def quote(interaction: discord.Interaction, passage: str) -> None:
            await interaction.response.send_message(f"> {passage}")

        agenda = app_commands.Group(name="agenda", description="Agenda")

        @agenda.command(name="publish", description="Publish")
        async def publish(interaction: discord.Interaction,
                          file: discord.Attachment | None = None) -> None:
            size = len(await file.read()) if file else 0
            await interaction.response.send_message(f"published {size}", ephemeral=True)

        tree.add_command(agenda)

        @tree.context_menu(name="Hide from consultation")
        async def hide(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"hidden {message.id}", ephemeral=True)

        @tree.context_menu(name="Profile")
        async def profile(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"profile {member.name}", ephemeral=True)
