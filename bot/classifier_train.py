"""Training for bot.classifier: scikit-learn's multinomial logistic regression over exactly the
features and scaling serving uses, its C and the decision thresholds chosen by stratified 5-fold
cross-validation on the training texts, and byte-stable serialisation of the model.

scikit-learn (with numpy and scipy) is the optional extra [train] and is imported only inside
the training functions: serving (bot.classifier) stays pure Python."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

from bot.classifier import CORRECTION_WEIGHT, LABELS, MODEL_VERSION, decide, featurize, probabilities
from bot.textnorm import normalize

SEED = 20240601   # StratifiedKFold's shuffle: every run splits the data the same way
FOLDS = 5
BALANCE = 0.5     # class-weight exponent: 0 = none, 1 = fully balanced
# The column-scale power (see vocabulary()) and the inverse L2 strength C, chosen together by
# cross-validation from these grids (ties keep the earlier point: the lower power, then the
# smaller C); the defaults, the old SGD's penalty, when there is too little data to choose.
POWER_GRID = (0.25, 0.375, 0.5)
C_GRID = (256.0, 512.0, 1024.0)
POWER = 0.5
DEFAULT_C = 256.0
MAX_ITER = 1000   # fixed, with a fixed tol, so lbfgs stops at the same point every run
TOL = 1e-4
JOBS = 2          # cross-validation folds fitted in parallel
MIN_DF = 2        # a feature seen once is a memorised typo, not a pattern
MIN_WEIGHT = 0.02  # pruned after training to keep model.json small
ABSENT_GAP = 20.0  # a label missing from the training part gets a bias this far below the rest
# Cost of each mistake when tuning thresholds: the brief's order of what hurts most.
COST_MISSED_REPORT, COST_MISSED_REQUEST, COST_FALSE_REPLY, COST_OTHER = 10.0, 4.0, 2.0, 1.0
# Service targets are 0.95 / 0.95 / 5%; tuning aims a little beyond them for new writers.
TARGET_REPORT_RECALL, TARGET_REQUEST_RECALL, TARGET_FALSE_REPLY = 0.97, 0.96, 0.04

Example = tuple[str, str, float]
Row = tuple[list[str], int, float]  # (features, label index, example weight)
Held = tuple[list[str], int, list[float]]  # (features, gold label index, held-out probabilities)


def training_paths(data_dir: Path) -> list[Path]:
    """The project's own texts and cadres' exported corrections; never data/validation/."""
    return sorted((data_dir / "training").glob("*.jsonl")) + sorted((data_dir / "corrections").glob("*.jsonl"))


def read_examples(paths: Iterable[Path]) -> list[tuple[str, str, float]]:
    """(text, label, weight); corrections override same-text handwritten examples."""
    base: dict[str, tuple[str, float]] = {}
    corrected: dict[str, tuple[str, float]] = {}
    for path in sorted(Path(p) for p in paths):
        weight = CORRECTION_WEIGHT if path.parent.name == "corrections" else 1.0
        target = corrected if weight > 1.0 else base
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(rec, dict):
                    continue
                text, label = rec.get("text"), rec.get("label")
                if isinstance(text, str) and label in LABELS and normalize(text):
                    target[text] = (label, weight)  # later lines win: the latest correction
    merged = {**base, **corrected}
    return [(t, lab, w) for t, (lab, w) in sorted(merged.items())]


def vocabulary(feature_lists: Iterable[list[str]], power: float = POWER) -> dict[str, tuple[int, float]]:
    """(column, scale) of each feature seen in at least MIN_DF examples, columns in sorted order.

    The scale df**-power (df: how many training examples contain the feature) makes sklearn's
    uniform L2 on the scaled weights w' a penalty of df**(2*power) * w**2 on the served weights
    w = w' * scale; at power 0.5 that is the old SGD's decay, applied each time a feature is
    seen. Frequent features pay more for their weight, rare ones (a new writer's wording
    shares few) are not shrunk to nothing."""
    df: dict[str, int] = {}
    for feats in feature_lists:
        for f in feats:
            df[f] = df.get(f, 0) + 1
    kept = sorted(f for f, n in df.items() if n >= MIN_DF)
    return {f: (j, float(df[f]) ** -power) for j, f in enumerate(kept)}


def design(feature_lists: list[list[str]], vocab: dict[str, tuple[int, float]]):
    """CSR matrix with scale/sqrt(len(feats)) for each known feature: the count is of all the
    message's features, known or not, exactly as serving's probabilities() scales them."""
    import numpy as np
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for feats in feature_lists:
        v = 1.0 / math.sqrt(len(feats)) if feats else 0.0
        cells = sorted(vocab[f] for f in feats if f in vocab)  # featurize() never repeats a name
        indices += [j for j, _ in cells]
        data += [v * scale for _, scale in cells]
        indptr.append(len(indices))
    return csr_matrix((np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64),
                       np.array(indptr, dtype=np.int64)), shape=(len(feature_lists), len(vocab)))


def sample_weights(rows: list[Row]) -> list[float]:
    """Example weight (corrections ×CORRECTION_WEIGHT) times a sqrt-balanced class weight:
    small classes (report) count more, but not absurdly."""
    k = len(LABELS)
    mass = [0.0] * k
    for _, y, w in rows:
        mass[y] += w
    total = sum(mass)
    cw = [(total / (k * m)) ** BALANCE if m else 0.0 for m in mass]
    return [w * cw[y] for _, y, w in rows]


def fit_estimator(rows: list[Row], c: float, power: float = POWER):
    """(fitted LogisticRegression, its vocabulary). lbfgs on a 7-class target is the
    multinomial (softmax) model serving computes; the intercept is not penalised."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    vocab = vocabulary((feats for feats, _, _ in rows), power)
    x = design([feats for feats, _, _ in rows], vocab)
    y = np.array([y for _, y, _ in rows])
    est = LogisticRegression(C=c, solver="lbfgs", max_iter=MAX_ITER, tol=TOL, fit_intercept=True)
    # One BLAS thread: lbfgs's small vector steps gain nothing from more, and on a busy 2-core
    # machine OpenBLAS's spinning threads made each fit some 50 times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        est.fit(x, y, sample_weight=np.array(sample_weights(rows)))
    return est, vocab


def export(est, vocab: dict[str, tuple[int, float]]) -> tuple[list[float], dict[str, list[float]]]:
    """The estimator as serving's (bias, weights), one slot per label of LABELS, unrounded;
    each weight is the fitted one times its column's scale, so serving needs no scales."""
    classes = [int(c) for c in est.classes_]
    coef, icpt = est.coef_, est.intercept_
    if coef.shape[0] == 1:
        # Two labels: sklearn's logistic p = sigmoid(z) is the softmax of (-z/2, z/2).
        coef, icpt = [-coef[0] / 2, coef[0] / 2], [-icpt[0] / 2, icpt[0] / 2]
    floor = min(float(b) for b in icpt) - ABSENT_GAP
    bias = [floor] * len(LABELS)
    for row, c in enumerate(classes):
        bias[c] = float(icpt[row])
    weights: dict[str, list[float]] = {}
    columns = [[float(x) for x in coef[row]] for row in range(len(classes))]
    for f, (j, scale) in vocab.items():
        w = [0.0] * len(LABELS)
        for row, c in enumerate(classes):
            w[c] = columns[row][j] * scale
        weights[f] = w
    return bias, weights


def fit(rows: list[Row], c: float = DEFAULT_C, power: float = POWER) -> tuple[list[float], dict[str, list[float]]]:
    """(bias, weights) as model.json stores them: rounded to 4 decimals, tiny weights pruned."""
    if len({y for _, y, _ in rows}) < 2:
        # Nothing to tell apart (lbfgs needs two labels): always the one label seen.
        bias = [-ABSENT_GAP] * len(LABELS)
        for _, y, _ in rows[:1]:
            bias[y] = 0.0
        return bias, {}
    bias, weights = export(*fit_estimator(rows, c, power))
    kept = {
        f: [round(x, 4) for x in w]
        for f, w in weights.items()
        if max(abs(x) for x in w) >= MIN_WEIGHT
    }
    return [round(b, 4) for b in bias], kept


def _rows(examples: list[Example]) -> list[Row]:
    return [(featurize(t), LABELS.index(lab), w) for t, lab, w in examples]


def _cost(gold: int, pred: int) -> float:
    ri, ci = LABELS.index("report"), LABELS.index("chatter")
    if gold == pred:
        return 0.0
    if gold == ri:
        return COST_MISSED_REPORT
    if gold != ci and pred == ci:
        return COST_MISSED_REQUEST
    if gold == ci:
        return COST_FALSE_REPLY
    return COST_OTHER


def metrics(pairs: list[tuple[int, int]]) -> dict[str, float]:
    """Accuracy, macro-F1, report recall, request recall and chatter false-reply rate of
    (gold, predicted) label indices, by sklearn.metrics."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    keys = ("accuracy", "macro_f1", "report_recall", "request_recall", "false_reply_rate")
    if not pairs:
        return {"n": 0, **{k: 0.0 for k in keys}}
    ri, ci = LABELS.index("report"), LABELS.index("chatter")
    gold, pred = [g for g, _ in pairs], [p for _, p in pairs]
    # Macro-F1 over the labels that occur in gold or predictions, as sklearn does by default.
    macro_f1 = f1_score(gold, pred, average="macro", zero_division=0)
    report_recall = recall_score(gold, pred, labels=[ri], average="macro", zero_division=0)
    request_recall = recall_score([g != ci for g in gold], [p != ci for p in pred], zero_division=0)
    chatter_row = confusion_matrix(gold, pred, labels=list(range(len(LABELS))))[ci]
    chatter = int(chatter_row.sum())
    false_replies = chatter - int(chatter_row[ci])
    return {
        "n": len(pairs),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(float(macro_f1), 4),
        "report_recall": round(float(report_recall), 4),
        "request_recall": round(float(request_recall), 4),
        "false_reply_rate": round(false_replies / chatter if chatter else 0.0, 4),
    }


def _search(held: list[Held]) -> tuple[float, float, float, float]:
    """(shortfall, cost, report threshold, chatter threshold) of the best grid point.

    Exactly decide()'s verdicts, with what does not depend on the chatter bar worked out once
    per report bar, and each grid point's figures read off one sklearn confusion matrix: the
    search is run once per (power, C) and must stay a small part of the training time."""
    from sklearn.metrics import confusion_matrix

    ri, fi, ci = LABELS.index("report"), LABELS.index("followup"), LABELS.index("chatter")
    k = len(LABELS)
    gold = [y for _, y, _ in held]
    cost_of = [[_cost(g, p) for p in range(k)] for g in range(k)]
    best: tuple = (float("inf"), float("inf"), 1.0, 0.5)
    # "Anything that may be a report is one": only low report thresholds are considered.
    for tr in [x / 100 for x in range(5, 26, 5)]:
        # The chatter bar only matters where decide() gets to it: there a bar of 0 says chatter
        # and one above 1 the best other label. (fixed verdict or None, that label, p(chatter)).
        pre = []
        for f, _, p in held:
            other, silent = decide(p, f, tr, 2.0, ri, fi, ci), decide(p, f, tr, 0.0, ri, fi, ci)
            pre.append((other if other == silent else None, other, p[ci]))
        for tc in [x / 100 for x in range(10, 96, 5)]:
            pred = [fixed if fixed is not None else (ci if pc >= tc else best_nc)
                    for fixed, best_nc, pc in pre]
            conf = confusion_matrix(gold, pred, labels=list(range(k)))
            reports, chatter = int(conf[ri].sum()), int(conf[ci].sum())
            requests = len(gold) - chatter
            report_recall = round(int(conf[ri][ri]) / reports, 4) if reports else 0.0
            request_recall = round((requests - int(conf[:, ci].sum() - conf[ci][ci])) / requests, 4) \
                if requests else 0.0
            false_reply = round((chatter - int(conf[ci][ci])) / chatter, 4) if chatter else 0.0
            shortfall = round(
                2 * max(0.0, TARGET_REPORT_RECALL - report_recall)
                + max(0.0, TARGET_REQUEST_RECALL - request_recall)
                + max(0.0, false_reply - TARGET_FALSE_REPLY), 4)
            cost = float(sum(int(conf[g][q]) * cost_of[g][q] for g in range(k) for q in range(k)))
            if (shortfall, cost, tr) < best[:3]:
                best = (shortfall, cost, tr, tc)
    return best


def tune(held: list[tuple[list[str], int, list[float]]]) -> tuple[float, float]:
    """Grid-search the report and chatter thresholds: least shortfall against the service
    targets (with a margin) first, then least weighted cost, then the lower report bar."""
    return _search(held)[2:]


def cross_validate(rows: list[Row], settings: list[tuple[float, float]]) -> list[list[Held]]:
    """For each (C, power): (features, gold, probabilities) of every row, each scored by the
    model, as it would be saved, of the folds that did not contain it."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold

    ys = [y for _, y, _ in rows]
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    splits = list(splitter.split([[0]] * len(rows), ys))
    # Every fit of every setting is independent: all run side by side in one pool, which keeps
    # both cores busy (the results do not depend on the order or the number of jobs).
    jobs = [(c, power, train_idx) for c, power in settings for train_idx, _ in splits]
    models = Parallel(n_jobs=JOBS)(delayed(fit)([rows[i] for i in train_idx], c, power)
                                   for c, power, train_idx in jobs)
    out = []
    for s in range(len(settings)):
        held: list[Held | None] = [None] * len(rows)
        for (_, test_idx), (bias, weights) in zip(splits, models[s * FOLDS:(s + 1) * FOLDS]):
            for i in test_idx:
                feats, y, _ = rows[i]
                held[i] = (feats, y, probabilities(bias, weights, feats))
        out.append(held)
    return out  # type: ignore[return-value]


def train_model(examples: list[Example]) -> dict:
    """The column-scale power, C and thresholds by cross-validation (every example scored by a
    model that never saw it), then the shipped model fitted on everything with them."""
    rows = _rows(examples)
    counts = {lab: sum(1 for _, l, _ in examples if l == lab) for lab in LABELS}
    c, power, t_report, t_chatter, held_metrics, grid = DEFAULT_C, POWER, 0.2, 0.5, {}, {}
    # Stratified folds need every label that occurs at least once per fold.
    if rows and min(n for n in counts.values() if n) >= FOLDS:
        settings = [(cand, p) for p in POWER_GRID for cand in C_GRID]
        best: tuple | None = None
        for (cand, p), held in zip(settings, cross_validate(rows, settings)):
            shortfall, cost, tr, tc = _search(held)
            grid[f"power={p},C={cand}"] = {"shortfall": shortfall, "cost": cost}
            if best is None or (shortfall, cost) < best[0]:  # ties keep the earlier point
                best = ((shortfall, cost), cand, p, tr, tc, held)
        _, c, power, t_report, t_chatter, held = best
        ri, fi, ci = LABELS.index("report"), LABELS.index("followup"), LABELS.index("chatter")
        pairs = [(y, decide(pr, x, t_report, t_chatter, ri, fi, ci)) for x, y, pr in held]
        held_metrics = metrics(pairs)
    bias, weights = fit(rows, c, power)
    return {
        "version": MODEL_VERSION,
        "labels": list(LABELS),
        "bias": bias,
        "weights": weights,
        "thresholds": {"report": t_report, "chatter": t_chatter},
        "meta": {"counts": counts, "heldout": held_metrics, "features": len(weights),
                 "corrections": sum(1 for _, _, w in examples if w > 1.0),
                 "C": c, "power": power, "grid": grid},
    }


def dumps(model: dict) -> str:
    """Byte-stable JSON: sorted keys, fixed rounding already applied, no timestamps."""
    return json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def save(model: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(model), encoding="utf-8")
    tmp.replace(path)  # atomic: a running bot never reads a half-written model


def train(paths: Iterable[Path]) -> dict:
    """Deterministic model dict from JSONL files (lives apart from the classifier so serving never loads it)."""
    return train_model(read_examples(paths))
