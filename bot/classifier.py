"""Message classifier: jieba words + character bigrams + a few pattern features fed to a
pure-Python multinomial logistic regression, with a report-biased decision rule."""
from __future__ import annotations

import functools
import json
import logging
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jieba

from bot import data
from bot.textnorm import BOT_NAMES, normalize, quoted

LABELS = ("consult", "help", "suggestion", "disclosure", "report", "followup", "chatter")
REQUESTS = ("consult", "help", "suggestion", "disclosure")
CORRECTION_WEIGHT = 3.0  # a cadre's correction outweighs a handwritten example
MODEL_VERSION = 1

_PUNCT = re.compile(r"[\s\W_]+")  # \W keeps CJK and letters/digits as word characters
_DIGITS = re.compile(r"\d+")
_CASENO = re.compile(
    r"(编号|单号|工单|案件号|受理号|回执号|事项号)\s*[:：是为]?\s*[a-z]{0,4}-?\d[\d-]{3,}"
    r"|(?<![a-z0-9])[a-z]{2,4}-?\d{4}-?\d{2,}(?![0-9])"  # no \b: CJK counts as a word char
    r"|(?<![a-z0-9])[a-z]\d{4}(?!\d)"  # the bot's own numbers: A1933 ...
    r"|(?<![\d-])\d{1,2}-\d{3}(?![\d-])"  # ... and 12-611
)
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_URL = re.compile(r"https?://|www\.|\.com|\.cn\b")
_TITLE = re.compile(r"【[^】]{2,30}】|《[^》]{2,30}》")
_CADRE = re.compile(r"书记|主任|村长|村干部|干部|会计|出纳|组长|网格员|镇里的人|工作人员|村委|领导|支书|委员")
_MISCONDUCT = re.compile(
    r"贪|克扣|冒领|虚报|套取|挪用|侵占|优亲厚友|吃拿卡要|红包|好处费|回扣|打击报复|报复|"
    r"公款|吃喝|赌博|打牌|收钱|收了钱|送礼|关系户|自家亲戚|亲戚|私分|中饱私囊|不公平|暗箱|威胁|"
    r"骂人|打人|拖着不办|故意刁难|刁难|卡着|霸占|强占|违建|包庇|作风"
)
# Who did it, when no title is named: a pronoun or a role by what the person manages.
_ACTOR = re.compile(r"他|她|伊|渠|佢|人家|管水的|管事的|当官的|队长|驻村|包村|负责的|上面的人")
_STATUS = re.compile(
    r"进度|进展|怎么样|办得怎样|结果|还没|催|多久|回复|答复|处理|有消息|满意|评价|办好|办结|办到|"
    r"到期|哪一步|跟进|有人管|批了|批下来|好了没|下来了没|到哪|卡在|审核|核查|查了|说法"
)

# Cue lexicons pool rare words into one feature each, so a problem word the training
# writers never used ("渗水", "塌方") still counts as a problem.
_CUES = {
    "problem": re.compile(
        r"坏|漏|堵|塌|断|裂|倒了|冇水|没水|停水|停电|没电|跳闸|臭|脏|淹|涝|积水|渗|滑坡|塌方|"
        r"起火|着火|冒烟|火灾|咬人|蛇|蜂|摔|受伤|晕倒|不见了|丢了|走丢|被偷|漏雨|漏水|浑|发黄|"
        r"太吵|噪音|没人收|没人管|乱倒|乱堆|占道|挡住|危险|隐患|松动|歪|掉下|吵架|打架|砸|欠薪|拖欠"
    ),
    "ask": re.compile(
        r"请问|想问|问一下|问下|咨询|怎么办|怎么弄|怎么申请|如何|哪里|哪儿|什么时候|几时|多少|"
        r"流程|手续|材料|条件|标准|能不能|可不可以|可以吗|有没有|是不是|要不要|需要|吗|呢|么|\?"
    ),
    "propose": re.compile(
        r"建议|提议|希望|最好|应该|可以考虑|不如|就好了|能否|想法|倡议|增设|多装|多放|改成|搞个|"
        r"弄个|设个|装个|建个|修个|开个|组织|定期|统一"
    ),
    "public": re.compile(r"公示|公开|公布|张榜|贴出来|明细|账目|名单|透明|知情"),
    "earlier": re.compile(
        r"上次|上回|之前|前几天|前天|上周|上个月|上礼拜|已经反映|反映过|报过|说过|讲过|答应|说好|"
        r"还没|还是|依然|仍然|照样|一直没|到现在|等了|第[二三四两]次|又|满意|评价|点赞|好评|差评|办结|"
        r"结案|答复|回复我|下文|音讯|消息"
    ),
    "notice": re.compile(
        r"通知|温馨提示|提醒|转发|【|各位|请各|广大|扫码|关注|公众号|链接|出售|回收|招聘|招工|"
        r"优惠|价格|私聊|联系电话|免费试|特价|包邮|诈骗|骗子|如下|附件"
    ),
    "self": re.compile(r"我|俺|咱|涯|阿拉|自家|家里|家门口|屋家"),
    "crowd": re.compile(r"大家|各位|各户|广大|全体|村民们|乡亲们|群众|家长们|请各|特此|如下|截止|务必"),
    "sale": re.compile(r"\d+\s*(元|块|万)|价格|价钱|出售|急售|回收|转让|出租|招聘|招工|团购|优惠|代办|包邮"),
    "social": re.compile(
        r"收到|好的|谢谢|感谢|辛苦|哈哈|呵呵|早上好|晚上好|早安|晚安|恭喜|快乐|点赞|支持|同意|"
        r"嗯|哦|好滴|是的|对的|了解|明白|知道了|已阅|已报|接龙"
    ),
}

_QUOTE_CADRE = re.compile(r"书记|主任|委员|镇长|干部|值班员|网格员|组长|会计|文书|村委|领导")
_CASE_RECEIPT = re.compile(r"受理|编号|办结|转交|登记|诉求")



def _quote_features(text: str) -> list[str]:
    """Context of a quoted reply: only the bot and cadres matter, never the quoted words."""
    q = quoted(text)
    if q is None:
        return []
    author, content = q
    if author in BOT_NAMES:
        return ["q:bot_case"] if _CASE_RECEIPT.search(content) else ["q:bot"]
    return ["q:cadre"] if _QUOTE_CADRE.search(author) else []


@dataclass(frozen=True)
class Verdict:
    label: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def tokenizer() -> jieba.Tokenizer:
    """A private jieba instance: the global one would share state with other modules."""
    jieba.setLogLevel(logging.WARNING)  # jieba prints its "Building prefix dict" chatter at INFO
    tk = jieba.Tokenizer()
    tk.tmp_dir = tempfile.gettempdir()
    tk.cache_file = "xiaowei_jieba.cache"
    tk.initialize()
    tk.load_userdict(str(data("userdict.txt")))
    return tk


@functools.lru_cache(maxsize=1)
def pos_tokenizer():
    """The one part-of-speech tagger over `tokenizer()`. One only: jieba's POSTokenizer takes the user dictionary's
    tags from its tokenizer on first use and clears them there, so a second tagger would never see them."""
    import jieba.posseg
    return jieba.posseg.POSTokenizer(tokenizer())


def _length_bucket(n: int) -> str:
    for i, limit in enumerate((4, 10, 25, 60, 150)):
        if n <= limit:
            return f"p:len{i}"
    return "p:len5"


def featurize(text: object, norm: str | None = None) -> list[str]:
    """Sorted, de-duplicated feature names of a message; [] when nothing is left to judge. norm: normalize(text),
    when the caller has it already."""
    if not isinstance(text, str):
        return []
    norm = normalize(text) if norm is None else norm
    if not norm:
        return []
    low = norm.lower()
    feats: set[str] = {_length_bucket(len(low)), *_quote_features(text)}
    # Patterns first, on the un-digit-folded text, since they read numbers.
    if _STATUS.search(low):
        feats.add("p:status")
    if _CASENO.search(low):
        feats.add("p:caseno")
        if _STATUS.search(low):
            feats.add("p:caseno+status")
    if _PHONE.search(low):
        feats.add("p:phone")
    if _URL.search(low):
        feats.add("p:url")
    if _TITLE.search(low):
        feats.add("p:title")
    if low.count("\n") >= 2:
        feats.add("p:multiline")
    if "?" in low or low.endswith(("吗", "呢", "么")):
        feats.add("p:question")
    if _MISCONDUCT.search(low):
        # Pooled, so a deed told without any title ("他把救灾米拉回家") still leans to report.
        feats.add("p:misconduct")
        if _CADRE.search(low):
            feats.add("p:cadre+misconduct")
        elif _ACTOR.search(low):
            feats.add("p:actor+misconduct")
    feats.update("c:" + name for name, cue in _CUES.items() if cue.search(low))
    folded = _DIGITS.sub("0", low)
    for w in tokenizer().cut(folded, HMM=False):
        w = w.strip()
        if w and not _PUNCT.fullmatch(w):
            feats.add("w:" + w)
    runs = [r for r in _PUNCT.split(folded) if r]
    if runs:
        feats.add("s:" + runs[0][:2])  # how a message opens ("请问", "收到") is telling
    for run in runs:
        # Unigrams rescue very short requests ("漏雨", "有蛇") that bigrams barely cover.
        feats.update("u:" + ch for ch in run)
        for i in range(len(run) - 1):
            feats.add("b:" + run[i : i + 2])
    return sorted(feats)


def _softmax(scores: list[float]) -> list[float]:
    m = max(scores)
    exps = [math.exp(s - m) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def probabilities(bias: list[float], weights: dict[str, list[float]], feats: list[str]) -> list[float]:
    """The model's arithmetic, shared by serving and by training's cross-validation."""
    vecs = [w for w in map(weights.get, feats) if w is not None]
    if not vecs:
        return _softmax(list(bias))
    # Column sums in C (zip/sum) rather than a Python loop per feature and label.
    v = 1.0 / math.sqrt(len(feats))
    return _softmax([b + v * s for b, s in zip(bias, map(sum, zip(*vecs)))])


class Classifier:
    def __init__(self, model: dict) -> None:
        self.labels: tuple[str, ...] = tuple(model["labels"])
        self.bias: list[float] = list(model["bias"])
        self.weights: dict[str, list[float]] = model["weights"]
        th = model.get("thresholds", {})
        self.report_threshold: float = th.get("report", 0.2)
        self.chatter_threshold: float = th.get("chatter", 0.5)
        self.meta: dict = model.get("meta", {})
        self._ri = self.labels.index("report")
        self._fi = self.labels.index("followup")
        self._ci = self.labels.index("chatter")

    def probabilities(self, feats: list[str]) -> list[float]:
        return probabilities(self.bias, self.weights, feats)

    def decide(self, probs: list[float], feats: list[str]) -> int:
        return decide(probs, feats, self.report_threshold, self.chatter_threshold,
                      self._ri, self._fi, self._ci)

    def classify(self, text: object, norm: str | None = None) -> Verdict:
        feats = featurize(text, norm)
        if not feats:
            return Verdict("chatter", 1.0, {lab: float(lab == "chatter") for lab in self.labels})
        probs = self.probabilities(feats)
        i = self.decide(probs, feats)
        scores = {lab: round(p, 4) for lab, p in zip(self.labels, probs)}
        return Verdict(self.labels[i], round(min(1.0, max(0.0, probs[i])), 4), scores)

    def explain(self, text: object, top: int = 10) -> list[tuple[str, str, float]]:
        """The features that weigh most: (feature, label it pushes hardest, its weight)."""
        out: list[tuple[str, str, float]] = []
        for f in featurize(text):
            w = self.weights.get(f)
            if w is None:
                continue
            i = max(range(len(w)), key=lambda j: w[j])
            out.append((f, self.labels[i], round(w[i], 4)))
        out.sort(key=lambda t: (-abs(t[2]), t[0]))
        return out[:top]


def decide(probs: list[float], feats: list[str], t_report: float, t_chatter: float,
           ri: int, fi: int, ci: int) -> int:
    """Precedence: report > followup > requests > chatter, with report deliberately eager."""
    if probs[ri] >= t_report:
        # A chase about an earlier report is a followup when the model itself leans that
        # way: the case is already with the inspectors, nothing new is alleged.
        chase = "c:earlier" in feats and "p:status" in feats and probs[fi] > probs[ri]
        if not chase:
            return ri
    if "p:caseno+status" in feats:
        return fi  # a case number plus a status word is a chase, whatever the words say
    best = max((i for i in range(len(probs)) if i != ci), key=lambda i: probs[i])
    # Silence needs conviction: a missed request costs more than one spare reply.
    return ci if probs[ci] >= t_chatter else best


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> Classifier:
    with open(path, encoding="utf-8") as fh:
        return Classifier(json.load(fh))


@functools.lru_cache(maxsize=1)
def _shipped() -> str:
    # Resolved once: importlib.resources' path lookup cost a fifth of classifying, asked for every message.
    return str(data("model.json"))


def load(path: Path | str | None = None) -> Classifier:
    return _load_cached(str(Path(path)) if path else _shipped())


__all__ = ["LABELS", "Verdict", "Classifier", "featurize", "load", "decide"]
