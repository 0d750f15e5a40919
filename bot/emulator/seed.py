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


def seed_consultation(emu: Emulator, name: str = "Consultation") -> ConsultationWorld:
    """Create guild ``name`` with roles Organisers (manage_guild) and Moderators
    (manage_threads), and members alice (organiser), mo (moderator), pat and sam."""
    guild = emu.create_guild(name)
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
