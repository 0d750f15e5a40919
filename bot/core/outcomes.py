"""Closing the loop: an item's outcome ("you said, we did"), who is told, and reminders.

Pure core. An outcome has a status and a text, and may respond to what people said: summary
statements, themes, or quoted passages of the article. Each of those resolves to the comments
it stands for, whose authors may be told (only if they opted in, see ``/profile``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.core.errors import BadInput
from bot.core.summary import DiscussionSummary
from bot.core.text import truncate
from bot.storage.models import OUTCOME_STATUSES, Outcome, OutcomeRef, Quote

__all__ = ["Outcome", "OutcomeRef", "STATUSES"]

STATUSES = OUTCOME_STATUSES
OUTCOME_TEXT_MAX = 1800  # fits one message with its heading, in a channel and in a DM
MENTIONS_PER_MESSAGE = 40  # one fallback message names at most this many people
RESPONDS_TO_MAX = 3

#: The marker the bot puts in every notice, so a restart can tell what it already sent.
NOTICE_MARK = "outcome-notice"

def check_outcome_text(text: str) -> str:
    """The outcome's text, trimmed; refuses what would make a bad public record."""
    cleaned = text.strip()
    if not cleaned:
        raise BadInput("Write what will happen and why: the outcome's text is empty.")
    if len(cleaned) > OUTCOME_TEXT_MAX:
        raise BadInput(f"The outcome's text is {len(cleaned)} characters; keep it under "
                       f"{OUTCOME_TEXT_MAX:,} (link a longer document).")
    return cleaned


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise BadInput("Choose a status from the list: " + ", ".join(STATUSES.values()) + ".")
    return status


# --------------------------------------------------------------------------- responding to

def quoted_passages(quotes: Iterable[Quote], limit: int = 10) -> list[tuple[str, list[int]]]:
    """The most quoted passages of the article, each with the comments that quote it."""
    by_passage: dict[str, list[int]] = {}
    for q in quotes:
        if q.exact and q.state in ("anchored", "moved"):
            by_passage.setdefault(" ".join(q.exact.split()), []).append(q.comment_id)
    ranked = sorted(by_passage.items(), key=lambda kv: (-len(set(kv[1])), kv[0]))
    return [(passage, sorted(set(ids))) for passage, ids in ranked[:limit]]


def response_choices(summary: DiscussionSummary | None, passages: Sequence[tuple[str, list[int]]],
                     typed: str, limit: int = 25) -> list[tuple[str, str]]:
    """Autocomplete ``(name, value)`` for what an outcome may respond to.

    Values are ``s:<comment id>`` for a statement, ``t:<n>`` for the summary's n-th theme and
    ``q:<n>`` for the n-th most quoted passage.
    """
    query = " ".join(typed.lower().split())
    out: list[tuple[str, str]] = []

    def add(name: str, value: str) -> None:
        if not query or query in name.lower():
            out.append((truncate(name, 100), value))

    if summary is not None:
        if summary.opinion is not None:
            seen: set[int] = set()
            for group, views in (("agreed", summary.opinion.consensus),
                                 ("divided", summary.opinion.divisive),
                                 ("rejected", summary.opinion.rejected)):
                for v in views:
                    if v.comment_id not in seen:
                        seen.add(v.comment_id)
                        add(f"Statement ({group}): {v.excerpt}", f"s:{v.comment_id}")
        for n, theme in enumerate(summary.themes):
            add(f"Theme: {theme.label}", f"t:{n}")
    for n, (passage, _ids) in enumerate(passages):
        add(f"Passage: “{passage}”", f"q:{n}")
    return out[:limit]


def resolve_response(value: str, summary: DiscussionSummary | None,
                     passages: Sequence[tuple[str, list[int]]]) -> OutcomeRef:
    """What an autocomplete value stands for; a clear error when it no longer exists."""
    kind, _, ref = value.partition(":")
    stale = BadInput("That choice is no longer in the summary: pick one from the list again.")
    if not ref.isascii() or not ref.isdigit():
        raise BadInput("Pick what the outcome responds to from the suggestions.")
    n = int(ref)
    if kind == "s":
        opinion = summary.opinion if summary is not None else None
        views = (*opinion.consensus, *opinion.divisive, *opinion.rejected) if opinion else ()
        for v in views:
            if v.comment_id == n:
                return OutcomeRef(kind="statement", label=truncate(v.excerpt, 200), comment_ids=[n])
        raise stale
    if kind == "t" and summary is not None:
        if n < len(summary.themes):
            theme = summary.themes[n]
            return OutcomeRef(kind="theme", label=truncate(theme.label, 200),
                              comment_ids=sorted(theme.comment_ids))
        raise stale
    if kind == "q":
        if n < len(passages):
            passage, ids = passages[n]
            return OutcomeRef(kind="passage", label=truncate(passage, 200), comment_ids=sorted(ids))
        raise stale
    raise BadInput("Pick what the outcome responds to from the suggestions.")


# --------------------------------------------------------------------------- what people see

def outcome_message(title: str, outcome: Outcome) -> str:
    """The text of the outcome's post in the item's channel (an embed description)."""
    lines = [outcome.text]
    if outcome.responds_to:
        lines += ["", "**In response to**"]
        lines += [f"• {_ref_line(r)}" for r in outcome.responds_to]
    if outcome.revision > 1:
        lines += ["", f"_Revision {outcome.revision}: this replaces the earlier outcome._"]
    return "\n".join(lines)


def _ref_line(ref: OutcomeRef) -> str:
    kind = {"statement": "Statement", "theme": "Theme", "passage": "Passage"}[ref.kind]
    label = ref.label.replace("@", "@\u200b")
    return f"{kind}: “{label}”" if ref.kind != "theme" else f"{kind}: {label}"


def notice_text(title: str, outcome: Outcome, link: str, item_id: int) -> str:
    """The once-only message to a participant whose words the outcome answers."""
    body = truncate(outcome.text, 1200)
    return (f"You took part in “{truncate(title, 100)}”. The organisers have recorded an outcome "
            f"that responds to what you said — **{outcome.status_label}**:\n> "
            + body.replace("\n", "\n> ")
            + f"\n{link}\n-# {NOTICE_MARK}:{item_id} · you get this because you opted in with "
            "/profile notify:True; turn it off the same way.")


def mention_batches(user_ids: Iterable[int], size: int = MENTIONS_PER_MESSAGE) -> list[list[int]]:
    ids = sorted(set(user_ids))
    return [ids[i:i + size] for i in range(0, len(ids), size)]
