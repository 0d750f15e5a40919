"""A standard seeded world: the "Consultation" guild used by tests and offline rehearsals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .emulator import Emulator
from .state import Guild, Member, P, Role


@dataclass
class ConsultationWorld:
    """``emu`` plus the seeded guild, roles and members (extra attributes may be added)."""

    emu: Emulator
    guild: Guild
    everyone: Role
    bot_role: Role
    organisers: Role
    moderators: Role
    alice: Member  # organiser (MANAGE_GUILD)
    mo: Member  # moderator (MANAGE_THREADS)
    pat: Member  # participant
    sam: Member  # participant
    extra: dict[str, Any] = field(default_factory=dict)


def seed_consultation(emu: Emulator, name: str = "Consultation", *,
                      on_shard: tuple[int, int] | None = None) -> ConsultationWorld:
    """Create guild ``name`` with roles Organisers (manage_guild) and Moderators
    (manage_threads), and members alice (organiser), mo (moderator), pat and sam.
    ``on_shard=(id, count)``: the guild's events go to that shard (see ``create_guild``)."""
    guild = emu.create_guild(name, on_shard=on_shard)
    organisers = emu.create_role(guild.id, "Organisers", P.MANAGE_GUILD)
    moderators = emu.create_role(guild.id, "Moderators", P.MANAGE_THREADS)
    return ConsultationWorld(
        emu=emu, guild=guild, everyone=guild.everyone_role,
        bot_role=guild.roles[guild.bot_role_id], organisers=organisers, moderators=moderators,
        alice=emu.add_member(guild.id, "alice", roles=[organisers.id]),
        mo=emu.add_member(guild.id, "mo", roles=[moderators.id]),
        pat=emu.add_member(guild.id, "pat"),
        sam=emu.add_member(guild.id, "sam"),
    )


def seed_consultations(emu: Emulator, count: int, shard_count: int = 1) -> list[ConsultationWorld]:
    """``count`` consultation guilds ("Consultation 1", …), spread round-robin over
    ``shard_count`` shards (guild ``i`` on shard ``i % shard_count``)."""
    return [seed_consultation(emu, f"Consultation {i + 1}", on_shard=(i % shard_count, shard_count))
            for i in range(count)]
