"""The embedded default: the shipped example configuration, pointed at the local WeCom stand-in."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

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
