"""Bodies of `xiaowei classify` and `xiaowei train`; bot/cli.py only parses arguments."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from bot import DATA_DIR


def classify_main(texts: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Labels for the given texts, or a JSON-lines filter over stdin when none are given."""
    from bot.classifier import load

    clf = load()
    if texts:
        for text in texts:
            stdout.write(clf.classify(text).label + "\n")
        stdout.flush()
        return 0
    for lineno, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            stderr.write(f"第{lineno}行不是有效的JSON，已跳过\n")
            stderr.flush()
            continue
        verdict = clf.classify(rec.get("text"))  # None/number/missing -> chatter, 1.0
        out = {"id": rec.get("id"), "label": verdict.label, "confidence": verdict.confidence}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()  # a caller piping message by message must not wait for a buffer
    return 0


def training_paths(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "training").glob("*.jsonl")) + sorted(
        (data_dir / "corrections").glob("*.jsonl")
    )


def train_main(stdout: TextIO, data_dir: Path = DATA_DIR, out: Path | None = None) -> int:
    """Rebuild model.json deterministically and print what it was trained on."""
    from bot.classifier import LABELS, Classifier, _load_cached, train
    from bot.classifier_train import metrics, read_examples, save

    paths = training_paths(data_dir)
    if not paths:
        stdout.write(f"没有找到训练数据：{data_dir / 'training'}\n")
        return 1
    model = train(paths)
    target = out or data_dir / "model.json"
    save(model, target)
    _load_cached.cache_clear()  # the next load() in this process must see the new model
    meta = model["meta"]
    stdout.write(f"训练文件：{len(paths)} 个，其中纠正样本 {meta['corrections']} 条（权重×3）\n")
    for label in LABELS:
        stdout.write(f"  {label:<11}{meta['counts'][label]:>6}\n")
    held = meta["heldout"]
    if held:
        stdout.write(f"交叉验证留出（5折，每条由没见过它的模型判定，共{held['n']}条）：{_figures(held)}\n")
    th = model["thresholds"]
    stdout.write(f"阈值：举报 {th['report']}，闲聊 {th['chatter']}；特征数 {meta['features']}\n")
    # Sets by writers who wrote no training text: a retrain (say, with corrections) that reads
    # strangers worse shows here at once.
    classifier = Classifier(model)
    for path in sorted((data_dir / "validation").glob("*.jsonl")):
        pairs = [(LABELS.index(label), LABELS.index(classifier.classify(text).label))
                 for text, label, _ in read_examples([path])]
        stdout.write(f"新写作者验证集 {path.stem}（{len(pairs)}条）：{_figures(metrics(pairs))}\n")
    stdout.write(f"模型已写入 {target}\n")
    stdout.flush()
    return 0


def _figures(m: dict) -> str:
    return (f"准确率 {m['accuracy']:.3f}，宏F1 {m['macro_f1']:.3f}，举报召回 {m['report_recall']:.3f}，"
            f"诉求召回 {m['request_recall']:.3f}，闲聊误回复率 {m['false_reply_rate']:.3f}")
