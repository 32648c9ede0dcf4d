"""Benchmark of the message classifier on a labelled JSONL set: quality, speed, cold start
and memory. Prints aggregates only, never the texts themselves."""
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

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared/data/messages_dev.jsonl"

# Fresh interpreter: import to first answer, then peak RSS (ru_maxrss, KiB on Linux).
_COLD = """
import time, resource
t0 = time.perf_counter()
from bot.classifier import load
load().classify("@小微 我们村的路灯坏了")
t1 = time.perf_counter()
print(t1 - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def read_set(path: Path) -> list[tuple[object, str]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                rows.append((rec.get("text"), rec["label"]))
    return rows


def cold_start() -> tuple[float, float, float]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _COLD], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    wall = time.perf_counter() - t
    return float(out[0]), wall, int(out[1]) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args(argv)
    rows = read_set(args.dev)
    clf = load(args.model)
    for text, _ in rows[:50]:  # warm-up: jieba's lazy structures, caches
        clf.classify(text)
    times, pairs = [], []
    for text, gold in rows:
        t = time.perf_counter_ns()
        pred = clf.classify(text).label
        times.append((time.perf_counter_ns() - t) / 1e6)
        pairs.append((gold, pred))
    n = len(pairs)
    print(f"dev set: {args.dev.name}, {n} messages")
    print(f"accuracy          {sum(g == p for g, p in pairs) / n:.4f}")
    f1s = []
    print(f"{'label':<11}{'gold':>6}{'pred':>6}{'prec':>8}{'recall':>8}{'F1':>8}")
    for lab in LABELS:
        tp = sum(1 for g, p in pairs if g == lab and p == lab)
        ng = sum(1 for g, _ in pairs if g == lab)
        npred = sum(1 for _, p in pairs if p == lab)
        prec = tp / npred if npred else 0.0
        rec = tp / ng if ng else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        print(f"{lab:<11}{ng:>6}{npred:>6}{prec:>8.3f}{rec:>8.3f}{f1:>8.3f}")
    print(f"macro-F1          {sum(f1s) / len(f1s):.4f}")
    print("confusion matrix (rows gold, columns predicted):")
    short = [lab[:6] for lab in LABELS]
    print(" " * 11 + "".join(f"{s:>8}" for s in short))
    for lab in LABELS:
        cells = [sum(1 for g, p in pairs if g == lab and p == q) for q in LABELS]
        print(f"{lab:<11}" + "".join(f"{c:>8}" for c in cells))
    req = [p for g, p in pairs if g != "chatter"]
    chat = [p for g, p in pairs if g == "chatter"]
    rep = [p for g, p in pairs if g == "report"]
    print(f"request recall (non-chatter found as non-chatter)  {sum(p != 'chatter' for p in req) / max(1, len(req)):.4f}")
    print(f"chatter false-reply rate (chatter -> non-chatter)  {sum(p != 'chatter' for p in chat) / max(1, len(chat)):.4f}")
    print(f"report recall                                      {sum(p == 'report' for p in rep) / max(1, len(rep)):.4f}")
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
