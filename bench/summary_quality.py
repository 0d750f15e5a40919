"""How good the summary's judgement is, in figures (one command):

    python3 bench/summary_quality.py                    # planted corpus + tests/data/polis
    python3 bench/summary_quality.py --sizes 400 1000 --seeds 5
    python3 bench/summary_quality.py --polis-only --data DIR   # other Pol.is exports

1. **Planted corpus** (bench/corpus.py): for each size, over several corpus seeds, how many
   of the 8 most frequent planted arguments the themes find (a theme finds an argument when
   that argument is the majority of its comments), how many themes repeat an argument
   already found, and the visible summary's units (sentences and bullets of the embed,
   at most 40).  Target: at least 7 of 8, no duplicate themes.  One seed is one draw of a
   noisy corpus: the mean over seeds is the figure to compare.
2. **Real Pol.is conversations** (default tests/data/polis, CC BY 4.0, see its README): the
   adjusted Rand index of our opinion groups against the groups Pol.is assigned
   (participants-votes.csv), for k-means seed 0 and the mean over ``--seeds`` seeds (ARI 0 is
   chance), and how many of the top-10 consensus and top-10 divisive statements, ranked
   from the real votes, the rendered summary names or links (targets 6 and 5).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.corpus import make_corpus  # noqa: E402
from bot.core.summary import (  # noqa: E402
    EMBED_UNITS,
    SummaryComment,
    about_the_participant,
    opinion_groups,
    render_summary_markdown,
    statement_score,
    summarise,
    summary_embed_fields,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "polis"


# --------------------------------------------------------------------------- planted corpus


def embed_units(s) -> int:
    """Sentences and bullets the embed shows: the headline's lines, the participation
    line, and every line of every field."""
    e = summary_embed_fields("t", s)
    head = len([ln for ln in e.description.split("\n\n")[0].splitlines() if ln.strip()])
    return head + 1 + sum(len([ln for ln in f.value.splitlines() if ln.strip()]) for f in e.fields)


def planted(n: int, seed: int) -> dict:
    corpus = make_corpus(n, seed)
    s = summarise(corpus.comments)
    label_of = {c.comment_id: lab for c, lab in zip(corpus.comments, corpus.labels, strict=True)}
    top = set(corpus.top_arguments(8))
    found: set[int] = set()
    dup = 0
    for t in s.themes:
        cnt = Counter(label_of[i] for i in t.comment_ids)
        arg, k = cnt.most_common(1)[0] if cnt else (-1, 0)
        if arg >= 0 and 2 * k > sum(cnt.values()):
            dup += arg in found
            found.add(arg)
    return {"found": len(found & top), "duplicates": dup, "units": embed_units(s)}


# --------------------------------------------------------------------------- Pol.is


def _open(path: Path):
    gz = path.with_name(path.name + ".gz")
    if path.exists():
        return open(path, encoding="utf-8")
    return gzip.open(gz, "rt", encoding="utf-8")


def load_polis(folder: Path) -> list[SummaryComment]:
    votes: dict[int, list[tuple[int, int, int]]] = {}
    with _open(folder / "votes.csv") as f:
        for row in csv.DictReader(f):
            votes.setdefault(int(row["comment-id"]), []).append(
                (int(row["timestamp"]), int(row["voter-id"]), int(row["vote"])))
    out = []
    with open(folder / "comments.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["moderated"] == "-1":
                continue
            cid = int(row["comment-id"])
            vs = tuple((v, x) for _t, v, x in sorted(votes.get(cid, [])))
            out.append(SummaryComment(
                cid, int(row["author-id"]), row["comment-body"],
                datetime.fromtimestamp(int(row["timestamp"]) / 1000, UTC),
                f"https://discord.com/channels/1/2/{cid}", votes=vs))
    return out


def _latest(c: SummaryComment) -> dict[int, int]:
    latest: dict[int, int] = {}
    for voter, v in c.votes:
        if voter != c.author_id:
            latest[voter] = v
    return latest


def coverage(comments: list[SummaryComment]) -> tuple[int, int, int, int]:
    """(top-10 consensus named, of how many; top-10 divisive named, of how many)."""
    s = summarise(comments)
    md = render_summary_markdown("t", s)
    real = {}
    for c in comments:
        vals = list(_latest(c).values())
        real[c.comment_id] = (vals.count(1), vals.count(-1))
    mv = s.opinion.min_votes if s.opinion else 5
    judged = [c for c, (a, d) in real.items() if a + d >= mv]
    cons = sorted((c for c in judged if real[c][0] / sum(real[c]) >= 0.65),
                  key=lambda c: -statement_score(*real[c]))[:10]
    div = sorted((c for c in judged if 0.35 < real[c][0] / sum(real[c]) < 0.65),
                 key=lambda c: -min(real[c]))[:10]
    named = lambda ids: sum(f"/1/2/{c})" in md for c in ids)  # noqa: E731
    return named(cons), len(cons), named(div), len(div)


def group_ari(comments: list[SummaryComment], folder: Path, seeds: int) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score

    truth = {}
    with open(folder / "participants-votes.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["group-id"] != "":
                truth[int(row["participant"])] = int(row["group-id"])
    voters, stmts, vals = [], [], []
    for j, c in enumerate(comments):
        if about_the_participant(c.text):  # left out of the groups, as the engine does
            continue
        latest = _latest(c)
        voters += list(latest)
        vals += list(latest.values())
        stmts += [j] * len(latest)
    aris = []
    for seed in range(seeds):
        people, groups = opinion_groups(np.array(voters), np.array(stmts), np.array(vals),
                                        len(comments), seed=seed)
        ours = dict(zip(people.tolist(), groups.tolist(), strict=True))
        both = sorted(set(truth) & set(ours))
        aris.append(adjusted_rand_score([truth[p] for p in both], [ours[p] for p in both])
                    if both else float("nan"))
    return aris[0], float(np.mean(aris))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[400, 1000, 10_000])
    ap.add_argument("--seeds", type=int, default=5, help="corpus / k-means seeds (default 5)")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of Pol.is exports")
    ap.add_argument("--polis-only", action="store_true")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    if not a.polis_only:
        print(f"planted corpus: arguments found of the top 8 (target >= 7), duplicate themes "
              f"(target 0), visible units (max {EMBED_UNITS}); seeds 0..{a.seeds - 1}")
        for n in a.sizes:
            rows = [planted(n, seed) for seed in range(a.seeds)]
            f = [r["found"] for r in rows]
            print(f"  {n:>7} comments: found {f} mean {np.mean(f):.2f}/8, duplicates "
                  f"{[r['duplicates'] for r in rows]}, units max {max(r['units'] for r in rows)}")
    print(f"Pol.is conversations in {a.data}: group ARI vs Pol.is (seed 0 / mean of "
          f"{a.seeds} seeds; 0 = chance), top-10 consensus / divisive named (targets 6 / 5)")
    aris = []
    for folder in sorted(p for p in a.data.iterdir() if (p / "comments.csv").exists()):
        comments = load_polis(folder)
        c, nc, d, nd = coverage(comments)
        line = f"  {folder.name[:45]:<45} consensus {c}/{nc}  divisive {d}/{nd}"
        if (folder / "participants-votes.csv").exists():
            first, mean = group_ari(comments, folder, a.seeds)
            aris.append((first, mean))
            line += f"  ARI {first:.2f} / {mean:.2f}"
        print(line)
    if aris:
        print(f"  mean ARI over {len(aris)} conversations: {np.mean([x[0] for x in aris]):.3f} "
              f"(seed 0) / {np.mean([x[1] for x in aris]):.3f} (mean of seeds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
