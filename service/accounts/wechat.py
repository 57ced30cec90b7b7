"""WeChat mini-program sign-in: exchange a `wx.login` code for an openid at code2session.

WeChat answers 200 with a JSON body (served as text/plain) that holds either the session or an
`errcode`. The app secret travels in the query string, so nothing here logs the URL; httpx's own
request logging is turned down in service.kit.logging for the same reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx

from service.accounts.errors import WechatCodeInvalid, WechatUnavailable, WechatUserBlocked
from service.config import Settings

logger = logging.getLogger(__name__)

CODE2SESSION_PATH = "/sns/jscode2session"

_INVALID_CODE = {40029, 40163}  # invalid code; code already used
_BLOCKED = {40226}  # high-risk user
_BUSY = {-1, 45011}  # system busy; API minute quota reached


@dataclass(frozen=True, slots=True)
class WechatSession:
    openid: str
    unionid: str | None


class WechatClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._appid = settings.wechat_appid
        self._secret = settings.wechat_secret
        self._base = settings.wechat_api_base.rstrip("/")
        self._http = http

    async def code2session(self, code: str) -> WechatSession:
        params = {
            "appid": self._appid,
            "secret": self._secret.get_secret_value(),
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            response = await self._http.get(self._base + CODE2SESSION_PATH, params=params)
        except httpx.HTTPError as exc:
            logger.warning("wechat code2session unreachable", extra={"error": type(exc).__name__})
            raise WechatUnavailable from exc
        if response.status_code != 200:
            logger.warning("wechat code2session answered %s", response.status_code)
            raise WechatUnavailable
        try:
            body = json.loads(response.content)
            errcode = int(body.get("errcode") or 0)
        except (ValueError, AttributeError, TypeError) as exc:
            logger.warning("wechat code2session answered with a body that is not JSON")
            raise WechatUnavailable from exc
        if errcode in _INVALID_CODE:
            raise WechatCodeInvalid
        if errcode in _BLOCKED:
            raise WechatUserBlocked
        if errcode in _BUSY:
            raise WechatUnavailable(retry_after_s=10)
        if errcode != 0:
            logger.warning("wechat code2session errcode %s", errcode)
            raise WechatUnavailable
        openid = body.get("openid")
        if not isinstance(openid, str) or not openid:
            logger.warning("wechat code2session answered without an openid")
            raise WechatUnavailable
        unionid = body.get("unionid")
        return WechatSession(openid=openid, unionid=unionid if isinstance(unionid, str) else None)
