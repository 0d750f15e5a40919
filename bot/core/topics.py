"""Finding the agenda item a command is about: by name, or by where it is used."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.core.errors import TopicNotFound
from bot.core.input_checks import ascii_int
from bot.core.text import truncate
from bot.core.topic_map import TopicMap
from bot.storage import Repository
from bot.storage.models import Item, Outcome

CHOICE_LIMIT = 25  # Discord shows at most 25 autocomplete choices
NAME_LIMIT = 100   # and each choice name is at most 100 characters


FUZZY_MIN_QUERY = 3   # shorter input matches too much to guess at typos
FUZZY_CUTOFF = 75     # rapidfuzz partial_ratio: "budpest" ~ "…budapest…" scores 86


def topic_choices(items: Sequence[Item], typed: str) -> list[tuple[str, str]]:
    """(name, value) autocomplete choices: items whose title contains what was typed, then
    items whose title nearly contains it (a typo: "budpest" finds "…Budapest…").

    Titles starting with the typed text come first, then other exact matches, then the
    near ones, best first; the value is the item id.
    """
    query = " ".join(typed.lower().split())
    ranked = []
    for order, item in enumerate(items):
        title = item.title.lower()
        if query and query not in title and query not in item.key:
            if len(query) < FUZZY_MIN_QUERY:
                continue
            score = max(fuzz.partial_ratio(query, title), fuzz.partial_ratio(query, item.key))
            if score < FUZZY_CUTOFF:
                continue
            ranked.append((2, -score, order, item))
            continue
        rank = 0 if not query or title.startswith(query) else 1
        ranked.append((rank, 0, order, item))
    ranked.sort(key=lambda r: r[:3])
    ranked = [(r[0], r[2], r[3]) for r in ranked]
    out = []
    for _, _, item in ranked[:CHOICE_LIMIT]:
        name = item.title if item.parent_id is None else f"↳ {item.title}"
        if item.locked:
            name += " 🔒"
        out.append((truncate(name, NAME_LIMIT), str(item.id)))
    return out


def status_line(item: Item, outcome: Outcome | None = None) -> str:
    """An item's status as people read it: open, open until…, or locked (and why), and
    the outcome once organisers recorded one."""
    if item.locked:
        line = "🔒 Locked" + (f": {item.lock_reason}" if item.lock_reason else "")
    elif item.closes_at:
        line = f"Open until {item.closes_at:%Y-%m-%d %H:%M} UTC"
    else:
        line = "Open for comments"
    return f"{line} · {outcome.headline()}" if outcome is not None else line


async def resolve_topic(
    repo: Repository, guild_id: int, topic: str | None, channel_ids: Sequence[int | None]
) -> Item:
    """The item named by `topic` (an id from autocomplete, a key or a title), or else the
    item of the first of `channel_ids` (the thread, then its channel) that has one."""
    if topic:
        wanted = topic.strip()
        items = await repo.agenda.guild_items(guild_id)
        wanted_id = ascii_int(wanted)  # "²", "①", "４", "٣" are not ids
        if wanted_id is not None:
            for item in items:
                if item.id == wanted_id:
                    return item
        lowered = wanted.lower()
        for item in items:
            if lowered in (item.key, item.title.lower()):
                return item
        matches = [i for i in items if lowered in i.title.lower()]
        if len(matches) == 1:
            return matches[0]
        raise TopicNotFound(wanted)
    for channel_id in channel_ids:
        if channel_id is None:
            continue
        item = await repo.agenda.item_at(channel_id)
        if item is not None and item.guild_id == guild_id:
            return item
    raise TopicNotFound()


def only_topics(built: TopicMap, topic_ids: set[int]) -> TopicMap:
    """The map with only `topic_ids` in it: the others, their edges and community places go."""
    return TopicMap(
        topics={t: topic for t, topic in built.topics.items() if t in topic_ids},
        edges=[e for e in built.edges if e.a in topic_ids and e.b in topic_ids],
        communities=[c for c in ([t for t in com if t in topic_ids] for com in built.communities) if c],
    )
