"""Benchmark of the discussion summary engine against planted themes.

    python bench/summary.py                       # 1k, 10k, 100k
    python bench/summary.py --comments 10000 --json out.json
    python bench/summary.py --lexrank-max 0       # skip the sumy comparison

For each size: ``summarise()`` cold (features computed inside the request) and warm
(a FeatureCache filled beforehand, as the bot does at ingestion), seconds, peak RSS,
themes found among the 8 most frequent planted arguments (a theme "finds" an
argument when that argument is the majority of its comments), redundancy (share of
themes repeating an already-found argument) and purity.  Side by side: sumy LexRank
(8 sentences) when sumy is installed, its top sentences mapped to planted arguments.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import Corpus, make_corpus  # noqa: E402
from bot.core.summary import FeatureCache, summarise  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def evaluate(corpus: Corpus, summary, k: int = 8) -> dict:
    label_of = {c.comment_id: lab for c, lab in zip(corpus.comments, corpus.labels, strict=True)}
    planted = corpus.top_arguments(k)
    found: set[int] = set()
    redundant = 0
    purities = []
    for t in summary.themes:
        cnt = Counter(label_of[i] for i in t.comment_ids)
        arg, n = cnt.most_common(1)[0] if cnt else (-1, 0)
        purities.append(n / max(1, sum(cnt.values())))
        if n * 2 > sum(cnt.values()) and arg >= 0:
            if arg in found:
                redundant += 1
            found.add(arg)
    return {
        "themes_planted": len(planted),
        "themes_found": len(found & set(planted)),
        "themes": len(summary.themes),
        "redundancy": round(redundant / max(1, len(summary.themes)), 3),
        "purity": round(sum(purities) / max(1, len(purities)), 3),
    }


def run_ours(n: int, seed: int) -> dict:
    corpus = make_corpus(n, seed)
    gc.collect()
    t0 = time.perf_counter()
    s_cold = summarise(corpus.comments)
    cold = time.perf_counter() - t0
    cache = FeatureCache()
    cache.add((c.comment_id, c.text) for c in corpus.comments)  # ingestion
    summarise(corpus.comments, cache=cache)  # warm-up (imports, allocator)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        s = summarise(corpus.comments, cache=cache)
        best = min(best, time.perf_counter() - t0)
    row = {
        "method": "ours",
        "comments": n,
        "seconds": round(best, 3),
        "seconds_cold": round(cold, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "reactions_only": s.reactions_only,
        "other": s.other,
    }
    row.update(evaluate(corpus, s))
    assert evaluate(corpus, s_cold)["themes_found"] == row["themes_found"]
    row["labels"] = [t.label for t in s.themes]
    return row


# --------------------------------------------------------------------------- sumy

_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"[A-Za-z0-9']+")


def _lexrank_worker(texts: list[str], n_sent: int, q) -> None:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.summarizers.lex_rank import LexRankSummarizer

    class Tok:  # sumy needs NLTK data for its tokenizer; a regex one is enough here
        language = "english"

        @staticmethod
        def to_words(s: str) -> list[str]:
            return _TOKEN.findall(s)

        @staticmethod
        def to_sentences(p: str) -> list[str]:
            return [x for x in _SENT.split(p) if x.strip()]

    t0 = time.perf_counter()
    paras = []
    for ci, text in enumerate(texts):
        sents = [Sentence(s, Tok) for s in Tok.to_sentences(text)]
        if sents:
            paras.append((ci, Paragraph(sents)))
    doc = ObjectDocumentModel([p for _, p in paras])
    owner = {}
    for ci, p in paras:
        for s in p.sentences:
            owner.setdefault(str(s), ci)
    summ = LexRankSummarizer()
    summ.stop_words = ("the", "a", "an", "and", "of", "to", "is", "in", "for", "that", "be")
    best = summ(doc, n_sent)
    secs = time.perf_counter() - t0
    q.put({"seconds": secs, "owners": [owner.get(str(s), -1) for s in best],
           "peak_rss_mb": peak_rss_mb()})


def run_lexrank(n: int, seed: int, *, max_n: int, timeout: float) -> dict:
    row = {"method": "sumy LexRank", "comments": n}
    try:
        import sumy  # noqa: F401
    except ImportError:
        row["skipped"] = "sumy not installed (pip install sumy): comparison skipped"
        return row
    if n > max_n:
        # LexRank builds an n x n sentence-similarity matrix: ~ (1.3 n)^2 * 8 bytes
        # (quadratic in n); not run, so no figure is printed for it
        row["skipped"] = f"not run (n > --lexrank-max {max_n})"
        return row
    corpus = make_corpus(n, seed)
    texts = [c.text for c in corpus.comments]
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_lexrank_worker, args=(texts, 8, q), daemon=True)
    p.start()
    try:
        res = q.get(timeout=timeout)
    except Exception:
        res = None
    p.join(1)
    if p.is_alive():
        p.kill()
        p.join()
    if res is None:
        row["skipped"] = f"skipped: timed out after {timeout:.0f} s"
        return row
    planted = corpus.top_arguments(8)
    args = [corpus.labels[o] for o in res["owners"] if o >= 0]
    hit = {a for a in args if a in planted}
    row.update(
        seconds=round(res["seconds"], 3),
        peak_rss_mb=round(res["peak_rss_mb"], 1),
        themes_planted=len(planted),
        themes_found=len(hit),
        themes=len(args),
        redundancy=round(1 - len(set(args)) / max(1, len(args)), 3),
    )
    return row


def run_groups(participants: int, votes: int, seed: int = 0) -> dict:
    """Time opinion groups (PCA + k-means, k 2..5 by silhouette) on a random vote matrix
    with planted camps: ``participants`` people casting ``votes`` votes in all."""
    import numpy as np

    from bot.core.summary import opinion_groups

    rng = np.random.default_rng(seed)
    n_statements = max(10, votes // 100)
    camp = rng.integers(0, 3, participants)
    leaning = rng.choice([-1, 1], size=(3, n_statements))
    voter = rng.integers(0, participants, votes)
    stmt = rng.integers(0, n_statements, votes)
    agree_with_camp = rng.random(votes) < 0.8
    vals = np.where(agree_with_camp, leaning[camp[voter], stmt], -leaning[camp[voter], stmt])
    vals[rng.random(votes) < 0.1] = 0
    t = time.perf_counter()
    people, groups = opinion_groups(voter, stmt, vals, n_statements)
    secs = time.perf_counter() - t
    return {"participants": participants, "votes": votes, "statements": n_statements,
            "seconds": round(secs, 3), "clustered": len(people),
            "groups": int(groups.max()) + 1 if len(groups) else 0}


def _num(value: float | None, width: int, digits: int) -> str:
    """A measured figure, or "-" where this run measured nothing."""
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--comments", type=int, action="append",
                    help="corpus size (repeatable); default 1000, 10000, 100000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the results as JSON")
    ap.add_argument("--lexrank-max", type=int, default=10_000,
                    help="largest corpus LexRank is run on (0 = never)")
    ap.add_argument("--lexrank-timeout", type=float, default=600.0)
    ap.add_argument("--show-labels", action="store_true")
    ap.add_argument("--groups-only", action="store_true",
                    help="only time opinion groups (10,000 participants x 100,000 votes)")
    a = ap.parse_args(argv)
    g = run_groups(10_000, 100_000, a.seed)
    print(f"opinion groups: {g['participants']} participants x {g['votes']} votes "
          f"({g['statements']} statements): {g['seconds']:.3f} s, {g['clustered']} clustered "
          f"into {g['groups']} groups (target < 1 s)")
    if a.groups_only:
        return 0
    sizes = a.comments or [1000, 10_000, 100_000]
    rows = []
    for n in sizes:
        # each size in a fresh process so peak RSS is per run
        with mp.get_context("spawn").Pool(1) as pool:
            rows.append(pool.apply(run_ours, (n, a.seed)))
        rows.append(run_lexrank(n, a.seed, max_n=a.lexrank_max, timeout=a.lexrank_timeout))

    hdr = (f"{'method':<14}{'comments':>9}{'warm s':>9}{'cold s':>9}{'peak MB':>9}"
           f"{'found':>8}{'themes':>8}{'redund':>8}{'purity':>8}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        if "skipped" in r:
            print(f"{r['method']:<14}{r['comments']:>9}  {r['skipped']}")
            continue
        found = f"{r['themes_found']}/{r['themes_planted']}"
        # Only what this run measured: LexRank has no feature cache (its one run is cold,
        # nothing is warm) and no themes to judge the purity of: "-" there.
        warm, cold = ((r["seconds"], r["seconds_cold"]) if "seconds_cold" in r
                      else (None, r["seconds"]))
        print(f"{r['method']:<14}{r['comments']:>9}{_num(warm, 9, 3)}{_num(cold, 9, 3)}"
              f"{_num(r['peak_rss_mb'], 9, 0)}{found:>8}{r['themes']:>8}"
              f"{_num(r['redundancy'], 8, 3)}{_num(r.get('purity'), 8, 3)}")
        if a.show_labels and "labels" in r:
            for lab in r["labels"]:
                print(f"{'':>16}- {lab}")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
