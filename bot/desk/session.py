"""Signing in to the desk: WeCom's web OAuth for the self-built app (path/91022 builds the link, path/96442 turns
the code into a userid), or a signed short-lived link the bot sends privately; either ends in a signed session
cookie (HttpOnly, SameSite=Lax). Nothing about the person is logged."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from aiohttp import web

from bot.config import Config
from bot.desk import tokens

COOKIE = "xiaowei_desk"


def link(config: Config, userid: str, now, base_url: str = "") -> str:
    """The sign-in link the bot sends a member privately; valid for [desk] link_minutes."""
    token = tokens.issue(config.desk.secret, "link", userid, now + timedelta(minutes=config.desk.link_minutes))
    return f"{(base_url or config.desk.base_url).rstrip('/')}/desk/link?t={token}"


def base_of(config: Config, request: web.Request) -> str:
    return config.desk.base_url or f"{request.scheme}://{request.host}"


def oauth_url(config: Config, request: web.Request, now) -> str:
    redirect = quote(f"{base_of(config, request)}/desk/oauth", safe="")
    state = tokens.oauth_state(config.desk.secret, now + timedelta(minutes=10))
    return (f"{config.desk.oauth_base}/connect/oauth2/authorize?appid={config.wecom.corp_id}"
            f"&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state={state}"
            f"&agentid={config.wecom.agent_id}#wechat_redirect")


def signed_in(config: Config, request: web.Request, userid: str, now, to: str = "/desk") -> web.HTTPFound:
    token = tokens.issue(config.desk.secret, "session", userid, now + timedelta(hours=config.desk.session_hours))
    response = web.HTTPFound(to)
    response.set_cookie(COOKIE, token, path="/desk", httponly=True, samesite="Lax",
                        secure=base_of(config, request).startswith("https://"),
                        max_age=config.desk.session_hours * 3600)
    return response


def who(config: Config, request: web.Request, now) -> str | None:
    token = request.cookies.get(COOKIE, "")
    try:
        return tokens.verify(config.desk.secret, "session", token, now) if token else None
    except tokens.BadToken:
        return None
