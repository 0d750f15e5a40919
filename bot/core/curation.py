"""Organisers curate a summary before they publish it (pure core: no Discord, no storage).

A curation is what an organiser changed in ``/summary-edit``: themes renamed, themes merged,
and their own opening sentences in place of the generated ones. It is applied to every
later summary of the item, so it survives new comments; a rename or merge whose theme is no
longer there is simply not applied (and said so by :func:`unapplied`).

A publication (``/summary-publish``) keeps the curated summary as it was posted. The report
uses it, and :func:`moved_since` says where the live figures have moved since.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from bot.core.errors import BadInput
from bot.core.summary import (
    OPPOSED,
    SUPPORTIVE,
    DiscussionSummary,
    Stance,
    StatementView,
    Theme,
    headline,
)

HEADLINE_MAX_SENTENCES = 6
LINE_MAX = 600
_ARROW = re.compile(r"\s*(?:=>|→|->)\s*")


class Merge(BaseModel):
    labels: list[str]  # the themes merged (their labels as the summary shows them)
    into: str  # the merged theme's label


class Curation(BaseModel):
    renames: dict[str, str] = Field(default_factory=dict)  # label -> new label
    merges: list[Merge] = Field(default_factory=list)
    headline: list[str] = Field(default_factory=list)  # empty: the generated sentences

    def is_empty(self) -> bool:
        return not (self.renames or self.merges or self.headline)


def _key(label: str) -> str:
    return " ".join(label.split()).casefold()


# --- the form --------------------------------------------------------------------------------


def form_defaults(summary: DiscussionSummary | None,
                  current: Curation | None) -> dict[str, str]:
    """What the edit form opens with: the headline as shown now (curated or generated), one
    ``label => label`` line per theme to rename by editing the right-hand side, and the
    merges already made.  ``summary`` None (none computed yet): the curation alone, its
    renamed themes listed by their new labels."""
    current = current or Curation()
    if summary is None:
        return {
            "headline": "\n".join(current.headline),
            "renames": "\n".join(f"{new} => {new}" for new in current.renames.values()),
            "merges": "\n".join(" + ".join(m.labels) + f" => {m.into}" for m in current.merges),
        }
    shown = apply_curation(summary, current)
    renames = [f"{t.label} => {t.label}" for t in shown.themes]
    merges = [" + ".join(m.labels) + f" => {m.into}" for m in current.merges]
    return {
        "headline": "\n".join(headline(shown)),
        "renames": "\n".join(renames),
        "merges": "\n".join(merges),
    }


def parse_form(summary: DiscussionSummary, *, headline_text: str, renames_text: str,
               merges_text: str, previous: Curation | None = None) -> Curation:
    """The organiser's form as a curation, checked against the summary's themes. Raises
    :class:`BadInput` naming the line to fix; nothing is half-applied."""
    previous = previous or Curation()
    merges: list[Merge] = []
    merged_labels = {_key(t.label) for t in summary.themes}
    for n, line in enumerate(_lines(merges_text), 1):
        parts = _ARROW.split(line)
        if len(parts) != 2 or "+" not in parts[0]:
            raise BadInput(f"Merges, line {n} (“{_cut(line)}”): write it as "
                           "“First theme + Second theme => New label”. Nothing was saved.")
        labels = [x.strip() for x in parts[0].split("+") if x.strip()]
        into = parts[1].strip()
        unknown = [x for x in labels if _key(x) not in merged_labels]
        if unknown:
            raise BadInput(f"Merges, line {n}: there is no theme called “{_cut(unknown[0])}”. "
                           "Use the labels exactly as listed under Renames. Nothing was saved.")
        if len(labels) < 2 or not into:
            raise BadInput(f"Merges, line {n}: name at least two themes and the merged "
                           "theme's label. Nothing was saved.")
        merges.append(Merge(labels=labels, into=into[:LINE_MAX]))
    # renames are kept against the labels the themes have after merging; the form shows
    # them as previously renamed
    after_merge = apply_curation(summary, Curation(merges=merges)).themes
    prev = {_key(old): new for old, new in previous.renames.items()}
    original: dict[str, str] = {}
    for t in after_merge:
        original[_key(t.label)] = t.label
        original[_key(prev.get(_key(t.label), t.label))] = t.label
    renames: dict[str, str] = {}
    for n, line in enumerate(_lines(renames_text), 1):
        parts = _ARROW.split(line)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise BadInput(f"Renames, line {n} (“{_cut(line)}”): write it as "
                           "“Current label => New label”. Nothing was saved.")
        shown, new = parts[0].strip(), parts[1].strip()
        if _key(shown) not in original:
            raise BadInput(f"Renames, line {n}: there is no theme called “{_cut(shown)}”. "
                           "Nothing was saved.")
        orig = original[_key(shown)]
        if _key(new) != _key(orig):
            renames[orig] = new[:LINE_MAX]
    sentences = _lines(headline_text)
    if len(sentences) > HEADLINE_MAX_SENTENCES:
        raise BadInput(f"Headline: at most {HEADLINE_MAX_SENTENCES} sentences, one per line "
                       f"(you wrote {len(sentences)}). Nothing was saved.")
    too_long = next((s for s in sentences if len(s) > LINE_MAX), None)
    if too_long:
        raise BadInput(f"Headline: each sentence at most {LINE_MAX} characters "
                       f"(“{_cut(too_long)}” is longer). Nothing was saved.")
    generated = headline(apply_curation(summary, Curation(merges=merges, renames=renames)))
    keep = [] if [" ".join(s.split()) for s in sentences] == [
        " ".join(s.split()) for s in generated] else sentences
    return Curation(renames=renames, merges=merges, headline=keep)


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip()]


def _cut(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- applying it ---------------------------------------------------------------------------


def apply_curation(summary: DiscussionSummary, curation: Curation) -> DiscussionSummary:
    """The summary as the organiser curated it: merges, then renames, then their headline."""
    themes = list(summary.themes)
    for merge in curation.merges:
        wanted = {_key(x) for x in merge.labels}
        group = [t for t in themes if _key(t.label) in wanted]
        if len(group) < 2:
            continue
        merged = _merge(group, merge.into)
        at = themes.index(group[0])
        themes = [t for t in themes if t not in group]
        themes.insert(at, merged)
    renames = {_key(old): new for old, new in curation.renames.items()}
    themes = [t.model_copy(update={"label": renames[_key(t.label)]}) if _key(t.label) in renames
              else t for t in themes]
    return summary.model_copy(update={
        "themes": themes,
        "curated_headline": list(curation.headline) or list(summary.curated_headline),
    })


def unapplied(summary: DiscussionSummary, curation: Curation) -> list[str]:
    """Labels a curation names that the summary no longer has (themes change as people
    comment): the organiser is told, rather than shown a silently different summary."""
    labels = {_key(t.label) for t in summary.themes}
    missing = [x for m in curation.merges for x in m.labels if _key(x) not in labels]
    after = {_key(t.label) for t in apply_curation(
        summary, Curation(merges=curation.merges)).themes}
    missing += [old for old in curation.renames if _key(old) not in after | labels]
    return missing


def _merge(group: Sequence[Theme], label: str) -> Theme:
    """One theme out of several: counts added, examples kept on the side of the label."""
    sup = [r for t in group for r in t.supported]
    rej = [r for t in group for r in t.rejected]
    spl = [r for t in group for r in t.split]
    stances = {t.stance for t in group if t.stance != "no clear signal"}
    stance: Stance
    if not stances:
        stance = "no clear signal"
    elif len(stances) == 1:
        stance = next(iter(stances))
    elif stances & set(SUPPORTIVE) and stances & set(OPPOSED):
        stance = "mixed"
    elif stances <= set(SUPPORTIVE):
        stance = "broad support"
    elif stances <= set(OPPOSED):
        stance = "broad opposition"
    else:
        stance = max(group, key=lambda t: t.comments).stance
    if stance == "mixed":
        reps = (sup[:2] + rej[:2])[:3]
    elif stance in SUPPORTIVE:
        reps = sup[:3]
    elif stance in OPPOSED:
        reps = rej[:3]
    elif stance == "divided":
        reps = spl[:3]
    else:
        reps = [r for t in group for r in t.representatives][:3]
    if not reps:
        reps = [r for t in group for r in t.representatives][:3]
    biggest = max(group, key=lambda t: t.comments)
    return biggest.model_copy(update={
        "label": label,
        "key_phrases": [p for t in group for p in t.key_phrases][:4],
        "comments": sum(t.comments for t in group),
        "participants": max(t.participants for t in group),
        "share": round(sum(t.share for t in group), 4),
        "agree": sum(t.agree for t in group),
        "disagree": sum(t.disagree for t in group),
        "stance": stance,
        "minority": stance in OPPOSED,
        "small": all(t.small for t in group),
        "representatives": reps,
        "supported": sup[:3], "rejected": rej[:3], "split": spl[:3],
        "comment_ids": [i for t in group for i in t.comment_ids],
    })


# --- what moved since a publication -----------------------------------------------------


def _views(s: DiscussionSummary) -> dict[int, StatementView]:
    o = s.opinion
    if o is None:
        return {}
    return {v.comment_id: v for v in [*o.rejected, *o.divisive, *o.consensus]}


def moved_since(published: DiscussionSummary, live: DiscussionSummary) -> list[str]:
    """Sentences saying how the live figures differ from a published summary: more
    comments or votes, and statements whose judgement changed (or that joined or left the
    lists). Empty when nothing moved."""
    out: list[str] = []
    dc = live.participation.comments - published.participation.comments
    pv = published.opinion.votes if published.opinion else 0
    lv = live.opinion.votes if live.opinion else 0
    if dc or lv != pv:
        out.append(f"The discussion has moved since: {live.participation.comments:,} comments "
                   f"({dc:+,}) and {lv:,} votes ({lv - pv:+,}).")
    before, now = _views(published), _views(live)
    for cid, v in now.items():
        old = before.get(cid)
        if old is None:
            out.append(f"“{v.excerpt}” is now {v.stance} ({v.agree} agree, {v.disagree} "
                       "disagree); it was not among the published statements.")
        elif old.stance != v.stance:
            out.append(f"“{v.excerpt}” is now {v.stance} ({v.agree} agree, {v.disagree} "
                       f"disagree); it was {old.stance} ({old.agree} agree, {old.disagree} "
                       "disagree).")
    return out
