"""The embedded default: the shipped example configuration, pointed at the local WeCom stand-in."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot import data
from bot.config import Config, load_config
from bot.sandbox.standin import WeComStandIn


# Sandbox databases are throwaway (tests, the demo): they are sealed with this published key, never a real one.
SANDBOX_AUDIT_KEY = "sandbox-only-audit-key-not-secret"
SANDBOX_DESK_SECRET = "sandbox-only-desk-secret-not-secret"


def example_config_path() -> Path:
    return Path(str(data("config.example.toml")))


def sandbox_config(standin: WeComStandIn, storage_path: Path, *, base: Config | None = None,
                   bridge_secret: str = "") -> Config:
    config = base or load_config(example_config_path())
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
