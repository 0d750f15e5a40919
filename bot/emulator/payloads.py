"""Builders for the JSON shapes Discord sends (users, members, roles, channels, messages, guilds)."""

from __future__ import annotations

import bisect
from typing import Any
from urllib.parse import quote

from .state import FORUM, Channel, Guild, Member, Message, Role, State, User


def user_json(u: User) -> dict[str, Any]:
    return {
        "id": str(u.id), "username": u.username, "discriminator": "0",
        "global_name": u.global_name, "avatar": u.avatar, "bot": u.bot,
        "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
    }


def role_json(r: Role) -> dict[str, Any]:
    return {
        "id": str(r.id), "name": r.name, "permissions": str(r.permissions),
        "position": r.position, "color": r.color, "hoist": r.hoist, "managed": r.managed,
        "mentionable": r.mentionable, "icon": None, "unicode_emoji": None, "flags": 0,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
    }


def member_json(m: Member, *, with_user: bool = True,
                permissions: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "roles": [str(r) for r in m.roles], "nick": m.nick, "avatar": None,
        "joined_at": m.joined_at, "deaf": False, "mute": False, "flags": 0, "pending": False,
        "premium_since": None, "communication_disabled_until": None,
    }
    if with_user:
        d["user"] = user_json(m.user)
    if permissions is not None:
        d["permissions"] = str(permissions)
    return d


def overwrite_json(o: Any) -> dict[str, Any]:
    return {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}


def channel_json(c: Channel) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": str(c.id), "type": c.type, "guild_id": str(c.guild_id), "name": c.name,
        "parent_id": str(c.parent_id) if c.parent_id else None, "flags": c.flags,
        "rate_limit_per_user": c.rate_limit_per_user,
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
    }
    if c.is_thread:
        d.update({
            "owner_id": str(c.owner_id), "message_count": c.message_count,
            "member_count": len(c.member_ids), "total_message_sent": c.total_message_sent,
            "applied_tags": [str(t) for t in c.applied_tags],
            "thread_metadata": {
                "archived": c.archived, "locked": c.locked,
                "auto_archive_duration": c.auto_archive_duration,
                "archive_timestamp": c.archive_timestamp, "create_timestamp": c.create_timestamp,
                "invitable": c.invitable,
            },
        })
    else:
        d.update({
            "position": c.position, "nsfw": c.nsfw, "topic": c.topic,
            "permission_overwrites": [overwrite_json(o) for o in c.overwrites.values()],
            "last_pin_timestamp": c.last_pin_timestamp,
            "default_auto_archive_duration": 1440,
        })
        if c.type == FORUM:
            d.update({
                "available_tags": c.available_tags, "default_reaction_emoji": None,
                "default_sort_order": None, "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
            })
    return d


def thread_member_json(thread: Channel, user_id: int, joined: str) -> dict[str, Any]:
    return {"id": str(thread.id), "user_id": str(user_id), "join_timestamp": joined, "flags": 0}


def attachment_json(a: Any, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/attachments/{a.channel_id}/{a.id}/{quote(a.filename)}"
    d = {
        "id": str(a.id), "filename": a.filename, "size": a.size, "url": url, "proxy_url": url,
        "content_type": a.content_type, "description": a.description,
    }
    return d


def reactions_json(m: Message, viewer_id: int) -> list[dict[str, Any]]:
    out = []
    for key in dict.fromkeys([*m.reactions, *m.burst_reactions]):
        normal, burst = m.reactions.get(key) or [], m.burst_reactions.get(key) or []
        if not normal and not burst:
            continue
        name, _, eid = key.partition(":")
        out.append({
            "emoji": {"id": eid or None, "name": name},
            "count": len(normal) + len(burst),
            "count_details": {"burst": len(burst), "normal": len(normal)},
            "me": viewer_id in normal, "me_burst": viewer_id in burst,
            "burst_colors": ["#ffcc4d"] if burst else [],
        })
    return out


def message_json(state: State, m: Message, base_url: str, *, viewer_id: int = 0,
                 with_member: bool = False, with_referenced: bool = True) -> dict[str, Any]:
    author = state.users[m.author_id]
    pings = m.would_ping
    d: dict[str, Any] = {
        "id": str(m.id), "channel_id": str(m.channel_id), "type": m.type,
        "author": user_json(author), "content": m.content, "timestamp": m.timestamp,
        "edited_timestamp": m.edited_timestamp, "tts": m.tts,
        "mention_everyone": pings.everyone or pings.here,
        "mentions": [user_json(state.users[u]) for u in pings.users if u in state.users],
        "mention_roles": [str(r) for r in pings.roles],
        "attachments": [attachment_json(a, base_url) for a in m.attachments],
        "embeds": m.embeds, "components": m.components, "pinned": m.pinned, "flags": m.flags,
        "reactions": reactions_json(m, viewer_id),
    }
    if m.snapshots:
        d["message_snapshots"] = m.snapshots
    if m.guild_id:
        d["guild_id"] = str(m.guild_id)
    if m.webhook_id:
        d["webhook_id"] = str(m.webhook_id)
    if m.application_id:
        d["application_id"] = str(m.application_id)
    if m.interaction_metadata:
        d["interaction_metadata"] = m.interaction_metadata
    if m.nonce is not None:
        d["nonce"] = m.nonce
    if m.reference:
        d["message_reference"] = m.reference
        if with_referenced and m.type == 19:
            ref = state.messages.get(int(m.reference.get("message_id") or 0))
            d["referenced_message"] = (
                message_json(state, ref, base_url, viewer_id=viewer_id, with_referenced=False)
                if ref is not None and not ref.deleted else None
            )
    if m.thread_id and m.thread_id in state.channels:
        d["thread"] = channel_json(state.channels[m.thread_id])
    if with_member and m.guild_id:
        g = state.guilds.get(m.guild_id)
        mem = g.members.get(m.author_id) if g else None
        if mem is not None and not m.webhook_id:
            d["member"] = member_json(mem, with_user=False)
    ch = state.channels.get(m.channel_id)
    if ch is not None and ch.is_thread:
        i = bisect.bisect_left(ch.message_ids, m.id)
        d["position"] = i if i < len(ch.message_ids) and ch.message_ids[i] == m.id else 0
    return d


def guild_json(state: State, g: Guild, *, full: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": str(g.id), "name": g.name, "icon": None, "splash": None, "discovery_splash": None,
        "owner_id": str(g.owner_id), "afk_channel_id": None, "afk_timeout": 300,
        "verification_level": 0, "default_message_notifications": 1,
        "explicit_content_filter": 0, "roles": [role_json(r) for r in g.roles.values()],
        "emojis": [], "stickers": [], "features": [], "mfa_level": 0,
        "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
        "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
        "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": None, "nsfw_level": 0, "premium_progress_bar_enabled": False,
        "max_members": 500000, "application_id": None,
    }
    if full:
        channels = [state.channels[c] for c in g.channel_ids if c in state.channels]
        d.update({
            "unavailable": False, "large": False, "member_count": len(g.members),
            "joined_at": state.clock.iso(), "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "members": [member_json(m) for m in g.members.values()],
            "channels": [channel_json(c) for c in channels if not c.is_thread],
            "threads": [channel_json(c) for c in channels if c.is_thread and not c.archived],
        })
    return d
