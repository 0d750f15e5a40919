"""Storing an agenda file in the database, before it is shown in Discord.

`store_agenda` is the database half of `/agenda publish`: it creates or updates
the consultation and every item (a changed text becomes a new revision), and
returns the items in agenda order for the Discord half to publish.
"""

from __future__ import annotations

from pydantic import BaseModel

from bot.core.agenda import AgendaSpec
from bot.core.naming import slugify
from bot.storage import Repository
from bot.storage.models import Consultation, Item

#: Discord's caps: channels (and categories) per server, channels per category
GUILD_CHANNELS_MAX = 500
CATEGORY_CHANNELS_MAX = 50


def overflow_category_name(title: str, n: int) -> str:
    """The n-th category of a consultation (n ≥ 2): "<title> (n)", within Discord's 100."""
    suffix = f" ({n})"
    return title[: 100 - len(suffix)] + suffix


def channels_needed(new_channels: int, free_places: int, has_category: bool) -> int:
    """Channels and categories that publishing `new_channels` item channels creates: the
    consultation's first category if it has none yet, and one "(2)", "(3)"… category for
    every 50 channels beyond the `free_places` left in its existing categories."""
    if new_channels <= 0:
        return 0
    categories = 0 if has_category else 1
    free = free_places if has_category else CATEGORY_CHANNELS_MAX
    overflow = max(0, new_channels - free)
    categories += -(-overflow // CATEGORY_CHANNELS_MAX)
    return new_channels + categories


class StoredAgenda(BaseModel):
    consultation: Consultation
    items: list[Item]           # agenda order: each item, then its sub-items
    changed_text: list[int]     # ids of items whose article text changed
    not_in_file: list[Item]     # items stored earlier that the file no longer has


async def store_agenda(
    repo: Repository, guild_id: int, spec: AgendaSpec, author_id: int | None
) -> StoredAgenda:
    consultation = await repo.agenda.upsert_consultation(
        guild_id, slugify(spec.title), spec.title, spec.description
    )
    await repo.schedule.set_dates(consultation.id, spec.opens_at, spec.closes_at)
    await repo.forum.set_layout(consultation.id, spec.layout)
    ids_by_key: dict[str, int] = {}
    specs_by_key = {spec_item.key: spec_item for _path, spec_item, _parent in spec.walk()}
    changed: list[int] = []
    for position, (_path, spec_item, parent_key) in enumerate(spec.walk()):
        item, text_changed = await repo.agenda.upsert_item(
            consultation.id,
            spec_item.key,
            parent_id=ids_by_key[parent_key] if parent_key else None,
            position=position,
            title=spec_item.title,
            summation=spec_item.summation,
            body=spec_item.body,
            closes_at=spec_item.closes_at,
            author_id=author_id,
        )
        ids_by_key[spec_item.key] = item.id
        parent_spec = specs_by_key.get(parent_key) if parent_key else None
        await repo.outcomes.set_reminder_leads(item.id, spec.reminder_leads(spec_item, parent_spec))
        if text_changed:
            changed.append(item.id)
    for _path, spec_item, _parent in spec.walk():
        await repo.agenda.set_relations(
            ids_by_key[spec_item.key], [ids_by_key[k] for k in spec_item.related if k in ids_by_key]
        )
    all_items = await repo.agenda.items(consultation.id)
    in_file = set(ids_by_key.values())
    return StoredAgenda(
        consultation=consultation,
        items=[i for i in all_items if i.id in in_file],
        changed_text=changed,
        not_in_file=[i for i in all_items if i.id not in in_file],
    )


async def add_item(
    repo: Repository, consultation: Consultation, *, title: str, summation: str, body: str,
    author_id: int,
) -> Item:
    """A new top-level item at the end of the agenda (from the `/agenda add` form)."""
    existing = await repo.agenda.items(consultation.id)
    keys = {i.key for i in existing}
    key, n = slugify(title), 2
    while key in keys:
        key, n = f"{slugify(title)}-{n}", n + 1
    item, _ = await repo.agenda.upsert_item(
        consultation.id, key, parent_id=None,
        position=max((i.position for i in existing), default=-1) + 1,
        title=title, summation=summation, body=body, author_id=author_id,
    )
    return item
