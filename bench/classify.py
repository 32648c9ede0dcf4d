"""Benchmark of the message classifier on labelled JSONL sets: quality per set (the dev set and each
unseen-writer set in data/validation/), then speed, cold start and memory. Prints aggregates only, never the
texts themselves. A line's context fields (speaker role, channel, quoted), where a set has them, are weighed as
the service weighs them (bot/routes.py): a cadre's answer is, for the bot, not a request."""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.classifier import LABELS, load  # noqa: E402
from bot.config import Rules  # noqa: E402
from bot.routes import circumstances_of, decide, effective_label  # noqa: E402

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared/data/messages_dev.jsonl"
UNSEEN = sorted((ROOT / "data/validation").glob("*.jsonl"))

# Fresh interpreter: import to first answer, then peak RSS (ru_maxrss, KiB on Linux).
_COLD = """
import time, resource
t0 = time.perf_counter()
from bot.classifier import load
load().classify("@小微 我们村的路灯坏了")
t1 = time.perf_counter()
print(t1 - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def read_set(path: Path) -> list[tuple[object, str, dict]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                rows.append((rec.get("text"), rec["label"], rec))
    return rows


def cold_start() -> tuple[float, float, float]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _COLD], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    wall = time.perf_counter() - t
    return float(out[0]), wall, int(out[1]) / 1024


def per_label(pairs: list[tuple[str, str]], lab: str) -> tuple[int, int, float, float, float]:
    """(gold count, predicted count, precision, recall, F1) of one label over (gold, predicted) pairs."""
    tp = sum(1 for g, p in pairs if g == lab and p == lab)
    ng = sum(1 for g, _ in pairs if g == lab)
    npred = sum(1 for _, p in pairs if p == lab)
    prec = tp / npred if npred else 0.0
    rec = tp / ng if ng else 0.0
    return ng, npred, prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def figures(pairs: list[tuple[str, str]]) -> dict[str, float]:
    f1s = [per_label(pairs, lab)[4] for lab in LABELS]
    req = [p for g, p in pairs if g != "chatter"]
    chat = [p for g, p in pairs if g == "chatter"]
    rep = [p for g, p in pairs if g == "report"]
    return {"n": len(pairs), "accuracy": sum(g == p for g, p in pairs) / max(1, len(pairs)),
            "macro_f1": sum(f1s) / len(f1s),
            "report_recall": sum(p == "report" for p in rep) / max(1, len(rep)),
            "request_recall": sum(p != "chatter" for p in req) / max(1, len(req)),
            "false_reply": sum(p != "chatter" for p in chat) / max(1, len(chat))}


def print_detail(name: str, pairs: list[tuple[str, str]], with_context: int) -> None:
    n = len(pairs)
    print(f"\n== {name}: {n} messages" + (f" ({with_context} with context fields)" if with_context else ""))
    print(f"{'label':<11}{'gold':>6}{'pred':>6}{'prec':>8}{'recall':>8}{'F1':>8}")
    for lab in LABELS:
        ng, npred, prec, rec, f1 = per_label(pairs, lab)
        print(f"{lab:<11}{ng:>6}{npred:>6}{prec:>8.3f}{rec:>8.3f}{f1:>8.3f}")
    print("confusion matrix (rows gold, columns predicted):")
    print(" " * 11 + "".join(f"{lab[:6]:>8}" for lab in LABELS))
    for lab in LABELS:
        cells = [sum(1 for g, p in pairs if g == lab and p == q) for q in LABELS]
        print(f"{lab:<11}" + "".join(f"{c:>8}" for c in cells))


CONTEXT_KEYS = ("speaker", "role", "speaker_role", "channel", "via", "addressed", "mentions_bot", "quoted", "quote")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dev", type=Path, action="append", default=None,
                    help="a labelled set (repeatable); default: the dev set and every data/validation/ set")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--detail", action="store_true", help="per-label table and confusion matrix of each set")
    args = ap.parse_args(argv)
    paths = args.dev or [p for p in (DEFAULT_DEV, *UNSEEN) if p.exists()]
    clf, rules = load(args.model), Rules()
    sets = [(p, read_set(p)) for p in paths]
    for _, rows in sets:
        for text, _, _ in rows[:50]:  # warm-up: jieba's lazy structures, caches
            clf.classify(text)
    times, results = [], []
    for path, rows in sets:
        pairs, with_context = [], 0
        for text, gold, rec in rows:
            t = time.perf_counter_ns()
            verdict = clf.classify(text)
            times.append((time.perf_counter_ns() - t) / 1e6)
            pred = verdict.label
            if any(k in rec for k in CONTEXT_KEYS):
                with_context += 1
                pred = effective_label(pred, decide(verdict, rules, circumstances_of(rec)))
            pairs.append((gold, pred))
        results.append((path.name, figures(pairs)))
        if args.detail:
            print_detail(path.name, pairs, with_context)
    print(f"\n{'set':<26}{'lines':>6}{'acc':>7}{'macroF1':>9}{'report':>8}{'request':>9}{'chat->req':>10}")
    for name, f in results:
        print(f"{name:<26}{f['n']:>6}{f['accuracy']:>7.3f}{f['macro_f1']:>9.3f}{f['report_recall']:>8.3f}"
              f"{f['request_recall']:>9.3f}{100 * f['false_reply']:>9.1f}%")
    print("(report: report recall; request: non-chatter found as non-chatter; chat->req: chatter read as not chatter)")
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    print(f"time per message after warm-up: median {statistics.median(times):.3f} ms, p99 {p99:.3f} ms")
    cold, wall, rss = cold_start()
    print(f"cold start (fresh subprocess, import to first answer): {cold:.3f} s "
          f"(whole subprocess incl. interpreter: {wall:.3f} s)")
    print(f"peak memory (fresh subprocess, ru_maxrss after first answer): {rss:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
