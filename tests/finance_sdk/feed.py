"""Write the stand-in's feed directory the way WeCom would fill the archive: keys, records, faults, media."""
from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FEED_ENV = "XIAOWEI_FINANCE_FEED"
ROOM = "wrkSFfCgAAcnchengnan"


@lru_cache(maxsize=None)
def rsa_key(tag: str) -> rsa.RSAPrivateKey:
    # 2048-bit keys take a moment to make; one per tag per session keeps the tests quick.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Feed:
    """One feed directory; point XIAOWEI_FINANCE_FEED at `path` before Init."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def key_version(self, ver: int, tag: str | None = None) -> bytes:
        """Publish the public key of version `ver`; return its private key as PEM, for the reader."""
        key = rsa_key(tag or f"v{ver}")
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        (self.path / f"pubkey_{ver}.pem").write_bytes(pub)
        return private_pem(key)

    def add(self, seq: int, message: dict, *, ver: int = 1, msgid: str | None = None) -> None:
        self.add_many([(seq, message)], ver=ver, msgid=msgid)

    def add_many(self, records: list[tuple[int, dict]], *, ver: int = 1, msgid: str | None = None) -> None:
        lines = []
        for seq, message in records:
            plain = json.dumps(message, ensure_ascii=False).encode()
            mid = msgid or message.get("msgid") or f"msg-{seq}"
            lines.append(f"{seq}\t{mid}\t{ver}\t{base64.b64encode(plain).decode()}\n")
        with (self.path / "records.tsv").open("a", encoding="utf-8") as f:
            f.writelines(lines)

    def fault(self, *codes: int) -> None:
        """The next GetChatData calls return these codes, one per call."""
        with (self.path / "faults").open("a") as f:
            f.writelines(f"{c}\n" for c in codes)

    def pending_faults(self) -> list[int]:
        p = self.path / "faults"
        return [int(x) for x in p.read_text().split()] if p.exists() else []

    def secret(self, secret: str) -> None:
        (self.path / "secret").write_text(secret + "\n")

    def media(self, sdkfileid: str, data: bytes) -> None:
        (self.path / f"media_{sdkfileid}").write_bytes(data)


def text_message(msgid: str, text: str, *, msgtime: int = 1_796_000_000_000, sender: str = "wmResident1",
                 roomid: str = ROOM) -> dict:
    """A group text message in the shape of [D 91774]."""
    return {"msgid": msgid, "action": "send", "from": sender, "tolist": ["zhangsan"], "roomid": roomid,
            "msgtime": msgtime, "msgtype": "text", "text": {"content": text}}
