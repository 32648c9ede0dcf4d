"""Tests of the message classifier, its text normaliser and the classify/train commands."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot import data
from bot.classifier import LABELS, Verdict, featurize, load
from bot.classifier_train import dumps, train
from bot.cli.tools import classify_texts as classify_main, train_model as train_main
from bot.textnorm import normalize

DATA_DIR = Path(str(data()))


@pytest.fixture(scope="module")
def clf():
    return load()


# --- normaliser -------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("@小微 村口的桥裂了！！！", "村口的桥裂了!"),
    ("@小微村口的桥裂了", "村口的桥裂了"),
    ("@王主任\u2005@李会计 明天几点开会？？", "明天几点开会?"),
    ("收到[抱拳][OK]", "收到"),
    ("👍🙏", ""),
    ("「张三：周六停水」\n- - - - - - - - - - - - - - -\n我家前天就停了", "我家前天就停了"),
    ("引用 李四：通知大家交医保\n交到哪里", "交到哪里"),
    ("桥裂了 @王主任", "桥裂了"),
    ("@村委张主任 小微小微，征兵几号报名", "征兵几号报名"),
    ("小微权力清单在哪看", "小微权力清单在哪看"),
    ("  多个   空格\u3000在这  ", "多个 空格 在这"),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_never_swallows_text_glued_to_a_mention():
    assert "桥裂了" in normalize("@王主任桥裂了")


@pytest.mark.parametrize("value", [None, 3, 2.5, [], {}, "", "   ", "\n\t"])
def test_normalize_non_text(value):
    assert normalize(value) == ""


# --- labels by kind ---------------------------------------------------------------------

CASES = {
    "consult": ["请问办残疾证需要带哪些材料", "新农合今年交多少钱一个人"],
    "help": ["我家屋后的排水沟堵死了，一下雨水就进屋", "村头路灯黑了好几晚，麻烦找人修一下"],
    "suggestion": ["建议在学校门口装个红绿灯，孩子过马路太危险", "能不能在村部设个代办点，方便老人"],
    "disclosure": ["今年的低保名单怎么一直没有公示", "村里修路的账目从来没公开过"],
    "report": ["村主任把危房改造的名额给了他自己的亲戚", "会计收了好处费才给人家盖章"],
    "followup": ["上个月反映的路灯问题到现在还没人来修", "编号XW-2026-0420的事情办得怎么样了"],
    "chatter": ["收到", "好的谢谢", "大家早上好", "[抱拳][抱拳]"],
}


@pytest.mark.parametrize("label, text", [(lab, t) for lab, ts in CASES.items() for t in ts])
def test_plain_cases(clf, label, text):
    assert clf.classify(text).label == label


@pytest.mark.parametrize("text", [
    "家里的水龙头一滴水都冇，从昨天到现在",   # help without any "please fix" keyword
    "我爸八十多了一个人住，昨晚摔了一跤爬不起来",
])
def test_request_without_keyword_is_not_chatter(clf, text):
    assert clf.classify(text).label != "chatter"


@pytest.mark.parametrize("text", [
    "【通知】本周五上午在村部召开低保评议会，请各组长准时参加",
    "专业疏通管道、维修水电，价格公道，电话13900001111",
    "转发：关于做好2026年城乡居民医保缴费工作的通知，请各户尽快缴纳",
])
def test_chatter_full_of_trigger_words(clf, text):
    assert clf.classify(text).label == "chatter"


@pytest.mark.parametrize("text", [
    "组长把上面发给贫困户的米拿回他自己家了",   # report without the word 举报
    "我上次在会上提了意见，第二天村里就不给我家批宅基地了",
])
def test_report_without_the_word(clf, text):
    assert clf.classify(text).label == "report"


def test_followup_versus_report(clf):
    assert clf.classify("我上周反映的事情现在有进展了吗").label == "followup"
    assert clf.classify("书记的老婆根本不符合条件也领了低保").label == "report"


@pytest.mark.parametrize("base", ["村头路灯黑了好几晚，麻烦找人修一下", "会计收了好处费才给人家盖章", "收到"])
def test_noise_does_not_change_the_verdict(clf, base):
    expected = clf.classify(base).label
    variants = [
        f"@小微 {base}",
        f"@小微\u2005{base}[抱拳]",
        f"{base}🙏🙏",
        f"「张三：大家明天记得交医保」\n- - - - - - - - - - - - - - -\n{base}",
        f"@王主任 @李会计 {base}！！！",
    ]
    for v in variants:
        assert clf.classify(v).label == expected, v


@pytest.mark.parametrize("value", ["", "   ", None, 42, "@小微", "[呲牙]", "👍"])
def test_empty_is_chatter_with_full_confidence(clf, value):
    v = clf.classify(value)
    assert (v.label, v.confidence) == ("chatter", 1.0)


def test_verdict_shape_and_explain(clf):
    v = clf.classify("村主任把低保给了他亲戚")
    assert isinstance(v, Verdict) and 0.0 <= v.confidence <= 1.0
    assert set(v.scores) == set(LABELS)
    expl = clf.explain("村主任把低保给了他亲戚")
    assert expl and all(lab in LABELS and isinstance(w, float) for _, lab, w in expl)
    assert any(lab == "report" for _, lab, _ in expl)


def test_featurize_ignores_mentions_and_emoji():
    assert featurize("@小微 路灯坏了👍[呲牙]") == featurize("路灯坏了")



@pytest.mark.parametrize("text, expected, absent", [
    ("会计收了好处费才盖章", {"p:misconduct", "p:cadre+misconduct"}, {"p:actor+misconduct"}),
    ("他把救灾的大米私分了", {"p:misconduct", "p:actor+misconduct"}, {"p:cadre+misconduct"}),
    ("管水的收了钱才开闸", {"p:misconduct", "p:actor+misconduct"}, set()),
    ("今天天气真好", set(), {"p:misconduct", "p:actor+misconduct", "p:cadre+misconduct"}),
])
def test_misconduct_told_without_a_title_still_has_its_feature(text, expected, absent):
    """A deed whose doer is only 他 or 管水的 pools into one feature, as a titled one does."""
    feats = set(featurize(text))
    assert expected <= feats and not absent & feats

# --- training ---------------------------------------------------------------------------

SMALL = [("路灯坏了好几天", "help"), ("低保怎么申请", "consult"), ("收到", "chatter"),
         ("书记收红包", "report"), ("上次的事怎么样了", "followup")]


def _write(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
                            for t, lab in rows), encoding="utf-8")


def test_training_is_deterministic(tmp_path):
    src = DATA_DIR / "training" / "hard_cases.jsonl"
    a, b = dumps(train([src])), dumps(train([src]))
    assert a == b
    model = json.loads(a)
    assert model["labels"] == list(LABELS) and model["weights"]


def test_train_main_writes_identical_models_and_counts_corrections(tmp_path):
    data = tmp_path / "data"
    _write(data / "training" / "small.jsonl", SMALL)
    # A cadre relabels a help example as followup; extra keys must be tolerated.
    (data / "corrections").mkdir()
    (data / "corrections" / "c.jsonl").write_text(
        json.dumps({"text": "路灯坏了好几天", "label": "followup", "by": "王主任", "ts": 1},
                   ensure_ascii=False) + "\nnot json\n", encoding="utf-8")
    _write(data / "validation" / "strangers.jsonl", [("收到了", "chatter"), ("书记收了红包", "report")])
    out = io.StringIO()
    assert train_main(out, data_dir=data, out=tmp_path / "m1.json") == 0
    assert "纠正样本 1 条" in out.getvalue()
    assert "新写作者验证集 strangers（2条）：准确率" in out.getvalue()   # scored, never trained on
    assert train_main(io.StringIO(), data_dir=data, out=tmp_path / "m2.json") == 0
    m1 = (tmp_path / "m1.json").read_bytes()
    assert m1 == (tmp_path / "m2.json").read_bytes()
    counts = json.loads(m1)["meta"]["counts"]
    assert counts["help"] == 0 and counts["followup"] == 2  # the corrected line moved
    assert counts["report"] == 1 and counts["chatter"] == 1   # validation lines are not training lines


@pytest.mark.parametrize("power", [0.0, 0.375, 0.5])
def test_served_probabilities_equal_sklearns_predict_proba(power):
    from bot.classifier import probabilities
    from bot.classifier_train import _rows, design, export, fit, fit_estimator, read_examples

    rows = _rows(read_examples([DATA_DIR / "training" / "hard_cases.jsonl"]))
    est, vocab = fit_estimator(rows, 16.0, power)
    texts = ["村主任把低保给了他亲戚", "收到", "路灯坏了好几天没人修", "请问医保在哪交", "全新的词语组合"]
    feats = [featurize(t) for t in texts]
    expected = est.predict_proba(design(feats, vocab))
    classes = [int(c) for c in est.classes_]
    bias, weights = export(est, vocab)          # unrounded: the same arithmetic exactly
    for f, row in zip(feats, expected):
        served = probabilities(bias, weights, f)
        assert all(abs(served[c] - p) < 1e-9 for c, p in zip(classes, row))
    bias, weights = fit(rows, 16.0, power)      # as saved: 4 decimals, tiny weights pruned
    for f, row in zip(feats, expected):
        served = probabilities(bias, weights, f)
        assert all(abs(served[c] - p) < 1e-3 for c, p in zip(classes, row))


def test_uniform_l2_on_scaled_columns_is_the_old_per_occurrence_penalty():
    from collections import Counter

    from bot.classifier_train import _rows, export, fit_estimator, read_examples

    rows = _rows(read_examples([DATA_DIR / "training" / "hard_cases.jsonl"]))
    df = Counter(f for feats, _, _ in rows for f in feats)
    est, vocab = fit_estimator(rows, 16.0, 0.5)
    assert all(scale == df[f] ** -0.5 for f, (_, scale) in vocab.items())
    _, weights = export(est, vocab)
    # What sklearn penalises (its own coefficients) is what the old SGD decayed: each served
    # weight once per training example that contains its feature.
    fitted = float((est.coef_ ** 2).sum())
    served = sum(df[f] * sum(x * x for x in w) for f, w in weights.items())
    assert abs(fitted - served) < 1e-9 * fitted
    common = max(vocab, key=lambda f: df[f])
    assert df[common] > 100 and weights[common] != [float(x) for x in est.coef_[:, vocab[common][0]]]


def test_metrics_by_hand():
    from bot.classifier_train import metrics

    ri, ci, hi = LABELS.index("report"), LABELS.index("chatter"), LABELS.index("help")
    pairs = [(ri, ri), (ri, ci), (hi, hi), (hi, ci), (ci, ci), (ci, hi), (ci, ci), (ci, ci)]
    m = metrics(pairs)
    assert m == {"n": 8, "accuracy": 0.625, "macro_f1": round((2 / 3 + 0.5 + 2 * 3 / (6 + 1 + 2)) / 3, 4),
                 "report_recall": 0.5, "request_recall": 0.5, "false_reply_rate": 0.25}
    assert metrics([])["n"] == 0


def test_serving_imports_no_numerics():
    import subprocess
    import sys

    code = ("import sys; from bot.classifier import load; load().classify('路灯坏了');"
            "print([m for m in ('numpy', 'scipy', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_train_main_without_sklearn(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn -> ImportError
    out, err = io.StringIO(), io.StringIO()
    assert train_main(out, data_dir=tmp_path, out=tmp_path / "m.json", stderr=err) == 2
    assert err.getvalue() == "训练需要 scikit-learn：pip install 'xiaowei[train]'\n"
    assert out.getvalue() == "" and not (tmp_path / "m.json").exists()


def test_train_main_without_data(tmp_path):
    out = io.StringIO()
    assert train_main(out, data_dir=tmp_path, out=tmp_path / "m.json") == 1
    assert not (tmp_path / "m.json").exists()


# --- classify command -------------------------------------------------------------------

def _run(texts=(), stdin=""):
    out, err = io.StringIO(), io.StringIO()
    rc = classify_main(list(texts), io.StringIO(stdin), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_classify_texts_prints_labels_only():
    rc, out, err = _run(["村头路灯黑了好几晚，麻烦找人修一下", "收到"])
    assert rc == 0 and out == "help\nchatter\n" and err == ""


def test_classify_stdin_contract():
    lines = [
        json.dumps({"id": "a1", "text": "会计收了好处费才给人家盖章"}, ensure_ascii=False),
        "",
        "{broken",
        json.dumps({"id": 7, "text": None}),
        json.dumps([1, 2]),
        json.dumps({"id": None, "text": 12}),
        json.dumps({"id": {"k": 1}}),
        json.dumps({"id": 3.5, "text": "收到"}, ensure_ascii=False),
    ]
    rc, out, err = _run(stdin="\n".join(lines) + "\n")
    assert rc == 0
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["id"] for r in rows] == ["a1", 7, None, {"k": 1}, 3.5]
    assert rows[0]["label"] == "report" and 0 < rows[0]["confidence"] <= 1
    for r in rows[1:4]:
        assert (r["label"], r["confidence"]) == ("chatter", 1.0)
    assert rows[4]["label"] == "chatter"
    assert "第3行不是有效的JSON，已跳过" in err and "第5行" in err
    assert "第2行" not in err and err.count("\n") == 2


# --- rule layer and decision ------------------------------------------------------------

def test_case_number_with_status_word_is_followup(clf):
    assert clf.classify("A2731 到现在还没人处理").label == "followup"
    assert clf.classify("我的XW-2026-0088怎么样了").label == "followup"


def test_reply_to_the_bots_case_receipt_counts_as_context():
    receipt = "「小微：已受理，编号A1200，6月1日前办结」\n- - - - - - - - - - - - - - -\n今天都3号了"
    assert "q:bot_case" in featurize(receipt)
    assert not any(f.startswith("q:") for f in featurize("「张三：明天开会」\n------\n今天都3号了"))


def test_decide_precedence():
    from bot.classifier import decide
    ri, fi, ci = LABELS.index("report"), LABELS.index("followup"), LABELS.index("chatter")
    probs = [0.05, 0.05, 0.05, 0.05, 0.2, 0.05, 0.55]
    assert decide(probs, [], 0.15, 0.5, ri, fi, ci) == ri       # low report bar wins
    assert decide(probs, [], 0.25, 0.5, ri, fi, ci) == ci       # chatter sure enough
    assert decide(probs, [], 0.25, 0.6, ri, fi, ci) == ri       # else best non-chatter
    chatty = [0.1, 0.05, 0.05, 0.05, 0.0, 0.05, 0.7]
    assert decide(chatty, ["p:caseno+status"], 0.25, 0.5, ri, fi, ci) == fi


def test_model_thresholds_are_low_and_sane(clf):
    assert 0.0 < clf.report_threshold <= 0.3
    assert 0.0 < clf.chatter_threshold < 1.0


# --- unseen writers -----------------------------------------------------------------------
VALIDATION = sorted((DATA_DIR / "validation").glob("*.jsonl"))


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_validation_texts_never_appear_in_training():
    training = {normalize(r["text"]) for p in (DATA_DIR / "training").glob("*.jsonl") for r in _rows(p)}
    assert VALIDATION, "data/validation/ holds the cross-writer sets"
    leaked = [r["text"] for p in VALIDATION for r in _rows(p) if normalize(r["text"]) in training]
    assert leaked == []


@pytest.mark.parametrize("path", VALIDATION, ids=lambda p: p.stem)
def test_shipped_model_meets_the_targets_on_writers_it_never_saw(clf, path):
    from bot.classifier_train import metrics

    pairs = [(LABELS.index(r["label"]), LABELS.index(clf.classify(r["text"]).label))
             for r in _rows(path)]
    m = metrics(pairs)
    assert m["n"] >= 300
    # Issue 12's targets for every unseen-writer set (the service's own are 0.95 / 0.95 / 5%).
    assert m["macro_f1"] >= 0.92
    assert m["report_recall"] >= 0.97
    assert m["request_recall"] >= 0.97
    assert m["false_reply_rate"] <= 0.03


# --- registers the first writers missed (new sentences, in no training file) --------------
@pytest.mark.parametrize("label, text", [
    ("suggestion", "村部大厅摆几张椅子 老人办事站着累"),          # a fix stated, no 建议/希望
    ("suggestion", "垃圾车改成早上七点前来收"),
    ("followup", "我家那个危房补助 批下来冇"),                    # a chase phrased as a plain question
    ("followup", "前天讲的那个水沟 有人来看过没有"),
    ("report", "办个证明要先塞两包烟 不塞就说领导不在"),          # no 举报, no title of a cadre
    pytest.param("report", "修个公厕花了四十万 金马桶吧", marks=pytest.mark.xfail(
        strict=True, reason="known limit: sarcasm about spending, with no person named, reads as a suggestion")),
    ("chatter", "这次低保评议我去看了 评得公道"),                # trigger words, nothing asked
    ("chatter", "县纪委今天通报了三起违规吃喝的典型案例"),
    ("help", "又冇电了"),                                          # elderly, three characters of dialect
    ("help", "后山有烟 像是着火了"),
    ("consult", "老人高龄补贴几月份发"),                           # a question without a question mark
    ("consult", "新生儿医保 在哪交"),
])
def test_registers_beyond_the_first_writers(clf, label, text):
    assert clf.classify(text).label == label


def test_traditional_characters_are_read_as_simplified(clf):
    """Folded by OpenCC before any feature: the elderly and Taiwan-style keyboards type 路燈壞了."""
    assert normalize("@小微 村裡的路燈壞了好幾天，請派人來修一下") == "村里的路灯坏了好几天,请派人来修一下"
    assert featurize("頭髮乾淨") == featurize("头发干净")            # phrase tables, not one character at a time
    assert clf.classify("村主任把低保名額給了他自己的親戚").label == "report"


def test_classify_reads_the_context_fields_of_a_line():
    import io
    from bot.cli.tools import classify_texts
    # A mild problem the model reads as help, but not surely enough (below overheard_threshold 0.7) to open a
    # case on words that were not said to the bot. (The model of 2026-12-02 was sure of "后山那条路有点滑".)
    line = {"id": 1, "text": "那座桥的栏杆有点松"}
    lines = [json.dumps({**line, **extra}, ensure_ascii=False) for extra in (
        {}, {"channel": "overheard"}, {"speaker": "cadre", "channel": "overheard"})]
    out = io.StringIO()
    assert classify_texts([], io.StringIO("\n".join(lines)), out, io.StringIO()) == 0
    routes = [json.loads(r)["route"] for r in out.getvalue().splitlines()]
    assert routes[1:] == ["confirm", "answer"] and routes[0] in ("case", "confirm")
