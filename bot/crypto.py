"""WeCom callback crypto for the self-built app (XML) and the AI bot (JSON).

Built on wechatpy's AES cipher and PKCS#7 encoder, plus the strict checks wechatpy skips.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import struct
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto.base import WeChatCipher
from wechatpy.crypto.pkcs7 import PKCS7Encoder
from wechatpy.utils import WeChatSigner

BLOCK = PKCS7Encoder.block_size  # WeCom pads to 32 bytes, not AES's 16
_RANDOM_PREFIX = 16
_QUERY_KEYS = ("msg_signature", "timestamp", "nonce")
_STAMP_DIGITS = 12        # Unix seconds for the next 30,000 years; int() of a huge digit string raises
OUTER_DEPTH = 1           # the AI bot's envelope is {"encrypt": "…"}: one flat object
INNER_DEPTH = 16          # the deepest documented payload (a quote of a mixed message) nests 6 levels
_JSON_SYNTAX = re.compile(rb'[\[\]{}"\\]')


class CallbackError(Exception):
    """A rejected callback; the message is a short reason for logs, never plaintext."""

    status: int = 400


class BadSignature(CallbackError):
    status = 403


class MalformedCallback(CallbackError):
    status = 400


class WrongReceiver(CallbackError):
    status = 400


def _decode_aes_key(encoding_aes_key: str) -> bytes:
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be exactly 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EncodingAESKey is not valid base64") from None
    if len(key) != 32:  # unreachable for 43 valid chars, kept as a guard
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


class CallbackCrypto:
    """Signs, encrypts and strictly verifies/decrypts one callback endpoint's traffic."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        if not token:
            raise ValueError("callback token must not be empty")
        self.token = token
        self.receive_id = receive_id
        self._key = _decode_aes_key(encoding_aes_key)

    # -- signature ---------------------------------------------------------
    def signature(self, timestamp: str, nonce: str, ciphertext: str) -> str:
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce, ciphertext)
        return signer.signature

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> None:
        # Every signed part is ASCII in WeCom's protocol; anything else cannot match, and the signer's UTF-8
        # encoding would raise on a lone surrogate (a JSON "\udcff" escape) before we could say so.
        if not (isinstance(ciphertext, str) and ciphertext.isascii()):
            raise MalformedCallback("ciphertext is not valid base64")
        if not all(isinstance(part, str) and part.isascii() for part in (msg_signature, timestamp, nonce)):
            raise BadSignature("signature mismatch")
        expected = self.signature(timestamp, nonce, ciphertext)
        if not hmac.compare_digest(expected.encode(), msg_signature.encode()):
            raise BadSignature("signature mismatch")

    # -- raw encrypt / decrypt -------------------------------------------------
    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """Return (base64 ciphertext, msg_signature) for plaintext."""
        message = plaintext.encode("utf-8")
        framed = b"".join((
            secrets.token_bytes(_RANDOM_PREFIX),
            struct.pack(">I", len(message)),
            message,
            self.receive_id.encode("utf-8"),
        ))
        raw = WeChatCipher(self._key).encrypt(PKCS7Encoder.encode(framed))
        ciphertext = base64.b64encode(raw).decode("ascii")
        return ciphertext, self.signature(timestamp, nonce, ciphertext)

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> str:
        """Check the signature first, then decrypt with every framing check wechatpy omits."""
        self._check_signature(msg_signature, timestamp, nonce, ciphertext)
        return self._strict_decrypt(ciphertext)

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        return self.decrypt(msg_signature, timestamp, nonce, echostr)

    def _strict_decrypt(self, ciphertext: str) -> str:
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise MalformedCallback("ciphertext is not valid base64") from None
        if not raw or len(raw) % BLOCK:
            raise MalformedCallback("ciphertext length is not a positive multiple of 32")
        plain = WeChatCipher(self._key).decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise MalformedCallback("bad PKCS#7 padding")
        body = plain[_RANDOM_PREFIX:-pad]
        if len(body) < 4:
            raise MalformedCallback("plaintext too short")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise MalformedCallback("message length out of bounds")
        message, receiver = body[4:4 + length], body[4 + length:]
        if not hmac.compare_digest(receiver, self.receive_id.encode("utf-8")):
            raise WrongReceiver("receive id mismatch")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedCallback("message is not UTF-8") from None

    # -- envelopes ---------------------------------------------------------------
    @staticmethod
    def _query(query: Mapping[str, str]) -> tuple[str, str, str]:
        missing = [k for k in _QUERY_KEYS if not query.get(k)]
        if missing:
            raise MalformedCallback("missing query parameter(s): " + ", ".join(missing))
        return query["msg_signature"], query["timestamp"], query["nonce"]

    def open_app_xml(self, query: Mapping[str, str], body: bytes) -> dict[str, str]:
        """Outer XML -> Encrypt -> verify+decrypt -> inner XML as a flat dict of <xml> children."""
        sig, ts, nonce = self._query(query)
        outer = _parse_xml(body, "outer")
        ciphertext = outer.get("Encrypt")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise MalformedCallback("outer XML has no Encrypt")
        inner = _parse_xml(self.decrypt(sig, ts, nonce, ciphertext).encode("utf-8"), "inner")
        # Only leaf text children: nested event payloads (e.g. SendPicsInfo) are not used by the bot.
        return {k: (v or "") for k, v in inner.items() if v is None or isinstance(v, str)}

    def open_aibot_json(self, query: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Outer {"encrypt"} (flat, refused before parsing if it nests) -> verify+decrypt -> inner JSON."""
        sig, ts, nonce = self._query(query)
        outer = parse_json(body, "outer", OUTER_DEPTH)
        ciphertext = outer.get("encrypt")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise MalformedCallback("outer JSON has no encrypt")
        return parse_json(self.decrypt(sig, ts, nonce, ciphertext).encode("utf-8"), "inner", INNER_DEPTH)

    def seal_aibot_reply(self, payload: Mapping[str, Any], nonce: str, timestamp: str) -> dict[str, str]:
        """Encrypt a passive reply; timestamp stays a string, as in WeCom's own JSON sample."""
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        ciphertext, sig = self.encrypt(text, nonce, timestamp)
        return {"encrypt": ciphertext, "msgsignature": sig, "timestamp": timestamp, "nonce": nonce}


def _parse_xml(data: bytes, which: str) -> dict[str, Any]:
    # xmltodict's default disable_entities=True makes entity declarations raise ValueError (no XXE)
    try:
        doc = xmltodict.parse(data)
    except (ExpatError, ValueError, TypeError, UnicodeError):
        raise MalformedCallback(f"{which} body is not parseable XML") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise MalformedCallback(f"{which} XML has no <xml> root")
    return root


def check_fresh(timestamp: str | None, now: datetime, window: float) -> None:
    """A callback's Unix timestamp must be within `window` seconds of now: a recorded callback replayed later
    (or one stamped in the future) is refused even though its signature is good."""
    if not timestamp or len(timestamp) > _STAMP_DIGITS or not (timestamp.isascii() and timestamp.isdigit()):
        raise MalformedCallback("timestamp is not Unix seconds")
    if abs(now.timestamp() - int(timestamp)) > window:
        raise BadSignature("stale timestamp")


def nests_deeper(data: bytes, limit: int) -> bool:
    """Whether JSON brackets (outside strings) nest deeper than limit. json.loads recurses once per level and
    raises RecursionError, not ValueError, on a deep enough body; this scan is linear and never recurses."""
    depth, in_string, escaped = 0, False, -1
    for found in _JSON_SYNTAX.finditer(data):
        at = found.start()
        char = data[at]
        if at == escaped:
            continue
        if in_string:
            if char == 0x5C:            # a backslash escapes the next byte, whatever it is
                escaped = at + 1
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif char in b"]}":
            depth -= 1
    return False


def parse_json(data: bytes, which: str, depth: int) -> dict[str, Any]:
    """A JSON object nesting at most `depth` levels; anything else is a MalformedCallback."""
    if nests_deeper(data, depth):
        raise MalformedCallback(f"{which} JSON nests too deep")
    try:
        doc = json.loads(data)
    except (ValueError, TypeError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedCallback(f"{which} body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise MalformedCallback(f"{which} JSON is not an object")
    return doc
