"""Normalise a raw WeCom group message before classification: drop mentions, emoji,
quoted replies and noise so that only what the sender wrote themselves is judged."""
from __future__ import annotations

import functools
import re
import unicodedata

import opencc

# Names the bot answers to; stripped even when WeChat glues them to the text.
BOT_NAMES = ("小微机器人", "小微助手", "小微", "xiaowei", "XiaoWei", "Xiaowei")

_MENTION_SEP = "\u2005"  # WeChat puts a four-per-em space after a mention
_BOT_MENTION = re.compile(r"@(?:" + "|".join(map(re.escape, BOT_NAMES)) + r")[\s\u2005:：,，]*")
# Calling the bot by name without "@" ("小微小微 …", "小微，…") is an address too; "小微权力"
# (the platform's own term) is not.
_BOT_VOCATIVE = re.compile(
    r"^(?:(?:" + "|".join(map(re.escape, BOT_NAMES)) + r")(?!权力)[\s\u2005:：,，!！~、]*)+"
)
# Any other mention: "@名字" ended by a space / U+2005; names are short.  A mention at
# the very end counts only after other text, so "@张三路灯坏了" is never swallowed whole.
_MENTION = re.compile(r"@[^\s\u2005@]{1,20}[\s\u2005]+|(?<=\S)\s*@[^\s\u2005@]{1,12}$")
# WeChat emoji codes such as [呲牙] [抱拳] [OK]: a bracketed 1-4 character word token.
_EMOJI_CODE = re.compile(r"\[[\w\u4e00-\u9fff]{1,4}\]")
# WeChat quote separator: "- - - - - -" or "------" alone on a line.
_QUOTE_SEP = re.compile(r"^\s*(?:-\s*){6,}$", re.M)
# A quoted block 「张三：原文」 (ASCII or full-width colon after a short name).
_QUOTE_BLOCK = re.compile(r"「[^「」]{0,20}?[:：][^「」]*」")
# "引用 张三：…" / "【引用】…" lines from other clients.
_QUOTE_LINE = re.compile(r"^\s*(?:【引用】|\[引用\]|引用\s*[:：]?).*$", re.M)
_REPEAT_PUNCT = re.compile(r"([!?.,;~。，！？、；…~·\-=*#])\1+")
_SPACES = re.compile(r"[ \t\u3000\u00a0\u2005]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def _is_emoji(ch: str) -> bool:
    """Pictographs and their modifiers; CJK and ordinary symbols are kept."""
    cp = ord(ch)
    if 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x1F900 <= cp <= 0x1F9FF:
        return True
    if cp in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF:
        return True
    return unicodedata.category(ch) == "So" and cp > 0x2000 and not 0x3000 <= cp <= 0x9FFF


def strip_quote(text: str) -> str:
    """Keep only the reply of a quoted message; a bare quote yields an empty string."""
    parts = _QUOTE_SEP.split(text)
    if len(parts) > 1:
        text = parts[-1]
    text = _QUOTE_BLOCK.sub(" ", text)
    return _QUOTE_LINE.sub(" ", text)


_QUOTED = re.compile(r"「([^「」:：]{1,20})[:：]([^「」]*)」")


def quoted(text: str) -> tuple[str, str] | None:
    """(author, content) of the first WeChat-style quote, or None.  Who is quoted is context
    (a reply to the bot's case receipt is a chase), although the quote's words are not."""
    if not isinstance(text, str):
        return None
    m = _QUOTED.search(text)
    return (m.group(1).strip(), m.group(2)) if m else None


def strip_mentions(text: str) -> str:
    text = _BOT_MENTION.sub(" ", text)
    # Repeat: "@张三 @李四 正文" needs several passes after the first removal.
    prev = None
    while prev != text:
        prev = text
        text = _MENTION.sub(" ", text, count=1) if "@" in text else text
    return _BOT_VOCATIVE.sub("", text.lstrip())


def count_emoji(text: str) -> int:
    return sum(1 for ch in text if _is_emoji(ch))


@functools.lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")   # OpenCC's phrase tables: 頭髮→头发 and 乾淨→干净, not one character at a time


def simplified(text: str) -> str:
    """Traditional characters folded to simplified ones (elderly residents and Taiwan-style keyboards type them),
    so "路燈壞了" and "路灯坏了" are the same features."""
    return _to_simplified().convert(text)


def normalize(text: str) -> str:
    """Return the sender's own words, NFKC-folded and in simplified characters, one space between runs; '' if
    none."""
    if not isinstance(text, str):
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_quote(text)
    text = strip_mentions(text)
    text = _EMOJI_CODE.sub(" ", text)
    text = "".join(" " if _is_emoji(ch) else ch for ch in text)
    # NFKC folds full-width letters/digits so "１２３" and "123" are one feature.
    text = simplified(unicodedata.normalize("NFKC", text))
    text = _REPEAT_PUNCT.sub(r"\1", text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()
