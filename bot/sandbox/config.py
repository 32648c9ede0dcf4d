"""The embedded default: the shipped example configuration, pointed at the local WeCom stand-in."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from bot import data
from bot.channels.kf import with_scene_param
from bot.config import Config, load_config
from bot.sandbox.standin import WeComStandIn


# Sandbox databases are throwaway (tests, the demo): they are sealed with this published key, never a real one.
SANDBOX_AUDIT_KEY = "sandbox-only-audit-key-not-secret"
SANDBOX_DESK_SECRET = "sandbox-only-desk-secret-not-secret"


def example_config_path() -> Path:
    return Path(str(data("config.example.toml")))


def sandbox_config(standin: WeComStandIn, storage_path: Path, *, base: Config | None = None,
                   bridge_secret: str = "", kf_account: str = "") -> Config:
    """kf_account: turn 微信客服 on with this account (the stand-in gets it too), each village with its own link."""
    config = base or load_config(example_config_path())
    if kf_account:
        config = with_kf(config, standin, kf_account)
    return replace(
        config,
        storage_path=storage_path,
        wecom=replace(config.wecom, corp_id=standin.corp_id, secret=standin.corp_secret, agent_id=standin.agent_id,
                      token=standin.app_token, encoding_aes_key=standin.app_aes_key, api_base=standin.url),
        aibot=replace(config.aibot, token=standin.aibot_token, encoding_aes_key=standin.aibot_aes_key),
        bridge=replace(config.bridge, secret=bridge_secret),
        # Kept beside the sandbox database: never a key file or an anchor file inside the installed package.
        audit=replace(config.audit, key=config.audit.key or SANDBOX_AUDIT_KEY,
                      anchor_file=storage_path.parent / "xiaowei.anchors"),
        # The stand-in plays WeCom's web OAuth too (/connect/oauth2/authorize).
        desk=replace(config.desk, secret=config.desk.secret or SANDBOX_DESK_SECRET, oauth_base=standin.url),
    )


def with_kf(config: Config, standin: WeComStandIn, open_kfid: str) -> Config:
    """What `[kf] open_kfid` and each village's kf_link would hold: the link add_contact_way gives for the
    configured scene, with scene_param naming the village (enter_session hands it back)."""
    standin.add_kf_account(open_kfid)
    url = standin.kf_contact_url(open_kfid, config.kf.scene)
    towns = tuple(replace(t, villages=tuple(replace(v, kf_link=with_scene_param(url, v.name)) for v in t.villages))
                  for t in config.towns)
    return replace(config, kf=replace(config.kf, open_kfid=open_kfid), towns=towns)


def standin_settings(standin: WeComStandIn, *, port: int, database: Path) -> dict[tuple[str, str], str]:
    """(section, key) → TOML value that point the example's server, storage and WeCom at a stand-in: for a real
    `xiaowei serve` child process in a test or a benchmark."""
    return {
        ("server", "port"): str(port),
        ("storage", "path"): json.dumps(str(database)),
        ("wecom", "corp_id"): json.dumps(standin.corp_id),
        ("wecom", "agent_id"): str(standin.agent_id),
        ("wecom", "secret"): json.dumps(standin.corp_secret),
        ("wecom", "token"): json.dumps(standin.app_token),
        ("wecom", "encoding_aes_key"): json.dumps(standin.app_aes_key),
        ("wecom", "api_base"): json.dumps(standin.url),
        ("aibot", "token"): json.dumps(standin.aibot_token),
        ("aibot", "encoding_aes_key"): json.dumps(standin.aibot_aes_key),
    }


def example_with(settings: Mapping[tuple[str, str], str], *, add: Mapping[str, list[str]] | None = None) -> str:
    """config.example.toml with each (section, key) set to its TOML value, and `add`'s lines placed after a section's
    own; a key the example does not have is a ValueError (the example changed under its user)."""
    add = add or {}
    section, out, done = "", [], set()
    for line in example_config_path().read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\[+([\w.]+)\]+", line):
            out += add.get(section, [])
            section = m[1]
        elif (m := re.match(r"^(\w+)\s*=", line)) and (section, m[1]) in settings:
            line = f"{m[1]} = {settings[section, m[1]]}"
            done.add((section, m[1]))
        out.append(line)
    out += add.get(section, [])
    if missing := set(settings) - done:
        raise ValueError(f"config.example.toml lacks {sorted(missing)}")
    return "\n".join(out) + "\n"
