"""Reading WeCom's chat archive (会话内容存档) through its closed C Finance SDK, loaded with ctypes.

The SDK hands out each message sealed twice: `encrypt_random_key` is RSA-encrypted (PKCS#1 v1.5)
with the public key the enterprise uploaded, version `publickey_ver`; the key string inside then
opens `encrypt_chat_msg` through the SDK's DecryptData. We keep every private key version, since
old messages stay sealed under the key of their day.

Message text is never logged here: it is residents' speech.
"""
from __future__ import annotations

import base64
import ctypes
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAX_LIMIT = 1000               # the header: "最大值1000条，超过1000条会返回错误"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Return codes of WeWorkFinanceSdk_C.h, worded for the admins who must act on them.
CODES: dict[int, str] = {
    10000: "参数错误，请求参数错误",
    10001: "网络错误，网络请求错误",
    10002: "数据解析失败",
    10003: "系统失败",
    10004: "密钥错误导致加密失败",
    10005: "fileid错误",
    10006: "解密失败",
    10007: "找不到消息加密版本的私钥，需要重新传入私钥对",
    10008: "解析encrypt_key出错",
    10009: "IP 不在可信IP列表（ip非法）",
    10010: "数据过期",
    10011: "证书错误",
}
# Network, parse and system failures are transient in practice; the rest need a person.
RETRYABLE = frozenset({10001, 10002, 10003})


class FinanceSdkError(Exception):
    """A nonzero return code from the SDK (or a nonzero errcode in its JSON)."""

    def __init__(self, code: int, meaning: str | None = None):
        self.code = code
        self.meaning = meaning or CODES.get(code, "未知错误码")
        super().__init__(f"{code} {self.meaning}")

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE


class MissingPrivateKey(FinanceSdkError):
    """A record is sealed under a key version we hold no private key for: the admin must add it."""

    def __init__(self, version: int):
        self.version = version
        super().__init__(10007, f"没有配置第 {version} 版私钥（publickey_ver={version}），请补充该版本的私钥")


@dataclass(frozen=True)
class Record:
    seq: int
    msgid: str
    publickey_ver: int
    message: dict


class _Sdk:
    """The library with every function we call declared, so ctypes never guesses a type."""

    def __init__(self, path: str | Path):
        lib = ctypes.CDLL(str(path))
        vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        # Pointers come back as c_void_p: a default int restype would cut 64-bit pointers in half,
        # and c_char_p would stop at the first NUL of binary data.
        signatures = {
            "NewSdk": ([], vp),
            "Init": ([vp, cp, cp], i),
            "GetChatData": ([vp, ctypes.c_ulonglong, ctypes.c_uint, cp, cp, i, vp], i),
            "DecryptData": ([cp, cp, vp], i),
            "GetMediaData": ([vp, cp, cp, cp, cp, i, vp], i),
            "DestroySdk": ([vp], None),
            "NewSlice": ([], vp),
            "FreeSlice": ([vp], None),
            "GetContentFromSlice": ([vp], vp),
            "GetSliceLen": ([vp], i),
            "NewMediaData": ([], vp),
            "FreeMediaData": ([vp], None),
            "GetOutIndexBuf": ([vp], vp),
            "GetData": ([vp], vp),
            "GetIndexLen": ([vp], i),
            "GetDataLen": ([vp], i),
            "IsMediaDataFinish": ([vp], i),
        }
        for name, (args, res) in signatures.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
        self.lib = lib

    def slice_bytes(self, slice_: int) -> bytes:
        buf = self.lib.GetContentFromSlice(slice_)
        return ctypes.string_at(buf, self.lib.GetSliceLen(slice_)) if buf else b""


def _check(code: int) -> None:
    if code != 0:
        raise FinanceSdkError(code)


class FinanceSdk:
    """One initialised SDK handle. Not thread-safe: use it from one task at a time."""

    def __init__(self, library_path: str | Path, corp_id: str, secret: str,
                 private_keys: dict[int, bytes], *, proxy: str | None = None, proxy_password: str | None = None):
        # Load keys first: a broken PEM should fail at start-up, not at the first message.
        self._keys: dict[int, rsa.RSAPrivateKey] = {ver: _load_key(pem) for ver, pem in private_keys.items()}
        self._proxy = proxy.encode() if proxy else None
        self._passwd = proxy_password.encode() if proxy_password else None
        self._sdk = _Sdk(library_path)
        self._handle: int | None = self._sdk.lib.NewSdk()
        if not self._handle:
            raise FinanceSdkError(10003, "NewSdk 返回空指针")
        try:
            _check(self._sdk.lib.Init(self._handle, corp_id.encode(), secret.encode()))
        except FinanceSdkError:
            self.close()
            raise

    def __enter__(self) -> FinanceSdk:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._handle:
            self._sdk.lib.DestroySdk(self._handle)
            self._handle = None

    def _live(self) -> int:
        if not self._handle:
            raise FinanceSdkError(10000, "SDK 已关闭")
        return self._handle

    def pull(self, seq: int, limit: int = MAX_LIMIT, timeout: int = 10) -> list[Record]:
        """Records after `seq` (pass the largest seq seen; 0 at first), decrypted, in the SDK's order.

        A record under a key version we lack raises MissingPrivateKey for the whole page rather
        than skipping it: skipping would move the caller's seq past a message it never read.
        """
        return [self._open(item) for item in self.chat_data(seq, limit, timeout)]

    def chat_data(self, seq: int, limit: int = MAX_LIMIT, timeout: int = 10) -> list[dict]:
        """GetChatData as the SDK returns it: the `chatdata` entries, still sealed."""
        lib = self._sdk.lib
        slice_ = lib.NewSlice()
        try:
            _check(lib.GetChatData(self._live(), seq, limit, self._proxy, self._passwd, timeout, slice_))
            raw = self._sdk.slice_bytes(slice_)
        finally:
            lib.FreeSlice(slice_)
        page = _json(raw)
        if page.get("errcode", 0) != 0:
            raise FinanceSdkError(int(page["errcode"]), str(page.get("errmsg", "")) or None)
        return list(page.get("chatdata") or [])

    def _open(self, item: dict) -> Record:
        ver = int(item["publickey_ver"])
        key = self._keys.get(ver)
        if key is None:
            raise MissingPrivateKey(ver)
        try:
            key_string = key.decrypt(base64.b64decode(item["encrypt_random_key"]), padding.PKCS1v15())
        except ValueError as e:        # bad base64, or a ciphertext that does not fit the key
            raise FinanceSdkError(10008) from e
        # With OpenSSL's implicit rejection, the wrong private key yields random bytes instead of an
        # error. A NUL among them would be cut off silently on the way into C, so refuse it here;
        # other wrong keys are caught by DecryptData (10006).
        if not key_string or b"\0" in key_string:
            raise FinanceSdkError(10008)
        return Record(seq=int(item["seq"]), msgid=str(item["msgid"]), publickey_ver=ver,
                      message=_json(self.decrypt(key_string, item["encrypt_chat_msg"])))

    def decrypt(self, key_string: bytes, encrypt_chat_msg: str) -> bytes:
        """DecryptData: the RSA-opened key string and the sealed message → the message's JSON bytes."""
        lib = self._sdk.lib
        slice_ = lib.NewSlice()
        try:
            _check(lib.DecryptData(key_string, encrypt_chat_msg.encode(), slice_))
            return self._sdk.slice_bytes(slice_)
        finally:
            lib.FreeSlice(slice_)

    def media_chunks(self, sdkfileid: str, timeout: int = 10) -> Iterator[bytes]:
        """The file's bytes as the SDK hands them out (≤512 KB a call), passing its index back each time."""
        lib = self._sdk.lib
        media = lib.NewMediaData()
        index = b""      # empty on the first call, as the header asks
        try:
            while True:
                _check(lib.GetMediaData(self._live(), index, sdkfileid.encode(), self._proxy, self._passwd,
                                        timeout, media))
                data = lib.GetData(media)
                n = lib.GetDataLen(media)
                out = lib.GetOutIndexBuf(media)
                # Copy the index out now: the next call frees the buffer it lives in.
                index = ctypes.string_at(out, lib.GetIndexLen(media)) if out else b""
                finished = bool(lib.IsMediaDataFinish(media))
                if n == 0 and not finished:
                    # An SDK that neither gives bytes nor finishes would loop us forever.
                    raise FinanceSdkError(10002, "媒体数据分片为空且未结束")
                yield ctypes.string_at(data, n) if n else b""
                if finished:
                    return
        finally:
            lib.FreeMediaData(media)

    def media(self, sdkfileid: str, timeout: int = 10) -> bytes:
        return b"".join(self.media_chunks(sdkfileid, timeout))


def _load_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("会话存档私钥必须是 RSA 私钥")
    return key


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
    except ValueError as e:        # includes UnicodeDecodeError
        raise FinanceSdkError(10002) from e
    if not isinstance(value, dict):
        raise FinanceSdkError(10002)
    return value


# ---- decrypted messages ------------------------------------------------------------------

@dataclass(frozen=True)
class ArchivedMessage:
    msgid: str
    action: str                    # "send" or "recall"
    msgtype: str                   # "text", "mixed", "revoke", "image", … as WeCom names it
    roomid: str                    # empty for a 1:1 chat
    sender: str                    # userid, or external_userid from outside the enterprise
    sent_at: datetime | None       # Asia/Shanghai; None if WeCom left msgtime out
    text: str | None = None        # for text and the text parts of mixed
    pre_msgid: str | None = None   # for a recall: the message withdrawn
    tolist: tuple[str, ...] = ()

    @property
    def external(self) -> bool:
        # [D 91774]: a msgid ending in _external is a message from outside the enterprise.
        return self.msgid.endswith("_external")


def parse_message(msg: dict) -> ArchivedMessage | None:
    """The decrypted message JSON → ArchivedMessage; None for what is not a message (switch, unknown)."""
    # Filter on action first: a switch record is not shaped like a message at all.
    action = msg.get("action")
    if action not in ("send", "recall") or not msg.get("msgid"):
        return None
    msgtype = str(msg.get("msgtype") or "")
    return ArchivedMessage(
        msgid=str(msg["msgid"]), action=action, msgtype=msgtype,
        roomid=str(msg.get("roomid") or ""), sender=str(msg.get("from") or ""),
        sent_at=_msgtime(msg.get("msgtime")), text=_text(msgtype, msg),
        pre_msgid=_pre_msgid(msgtype, msg),
        tolist=tuple(str(x) for x in msg.get("tolist") or ()),
    )


def _msgtime(ms: object) -> datetime | None:
    # msgtime is UTC milliseconds; village staff read times in Beijing time.
    if not isinstance(ms, int) or isinstance(ms, bool):
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(SHANGHAI)


def _text(msgtype: str, msg: dict) -> str | None:
    if msgtype == "text":
        content = (msg.get("text") or {}).get("content")
        return content if isinstance(content, str) else None
    if msgtype == "mixed":
        parts = [_mixed_text(item) for item in (msg.get("mixed") or {}).get("item") or ()]
        texts = [p for p in parts if p]
        return "\n".join(texts) if texts else None
    return None


def _mixed_text(item: object) -> str | None:
    # Each item's content is itself a JSON string, e.g. "{\"content\":\"你好\\n\"}".
    if not isinstance(item, dict) or item.get("type") != "text":
        return None
    content = item.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return None
    text = content.get("content") if isinstance(content, dict) else None
    return text.strip() if isinstance(text, str) and text.strip() else None


def _pre_msgid(msgtype: str, msg: dict) -> str | None:
    if msgtype != "revoke":
        return None
    pre = (msg.get("revoke") or {}).get("pre_msgid")
    return str(pre) if pre else None
