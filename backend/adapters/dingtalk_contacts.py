"""DingTalk contacts [钉钉通讯录] and login: read departments and users, resolve a login code.

Calls of the DingTalk open API (``oapi.dingtalk.com``):

* ``GET /gettoken?appkey&appsecret`` -> ``access_token`` (cached until 5 minutes before
  ``expires_in``; fetched again once when DingTalk answers 40014/42001);
* ``POST /topapi/v2/department/listsub`` ``{dept_id}`` -> direct sub-departments;
* ``POST /topapi/v2/user/list`` ``{dept_id, cursor, size}`` -> users of a department, paged;
* ``POST /topapi/v2/user/getuserinfo`` ``{code}`` -> the ``userid`` behind a login code
  (免登授权码 from the DingTalk mobile client).

``fetch_snapshot`` walks the department tree from the root (id 1) and maps it onto units and
departments by name, the convention of insurers' DingTalk corps: the root is the headquarters,
a department named ``...分公司`` is a branch, ``...支公司`` / ``...营业部`` / ``...营销服务部``
is a sub-branch; any other department is a department of the nearest unit above it.
"""
from __future__ import annotations

import time
from typing import Any

import httpx

from backend.errors import AppError
from backend.services.sync_org import DepartmentIn, Snapshot, UnitIn, UserIn

ROOT_DEPT_ID = 1
TOKEN_ERRORS = frozenset({40014, 42001, 40001})
BRANCH_SUFFIXES = ("分公司",)
SUB_BRANCH_SUFFIXES = ("支公司", "营业部", "营销服务部")
PAGE_SIZE = 100


class DingTalkError(AppError):
    code, status, message = "DINGTALK_ERROR", 502, "DingTalk refused the request"


class DingTalkUnavailable(DingTalkError):
    code, status, message = "DINGTALK_UNAVAILABLE", 503, "DingTalk cannot be reached"


class DingTalkNotConfigured(AppError):
    code, status, message = ("DINGTALK_NOT_CONFIGURED", 503,
                             "DingTalk contacts are not configured (DINGTALK_CONTACTS_APP_KEY)")


class DingTalkContacts:
    def __init__(self, app_key: str, app_secret: str, *, api_base: str = "https://oapi.dingtalk.com",
                 timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not app_key or not app_secret:
            raise DingTalkNotConfigured()
        self._app_key, self._app_secret = app_key, app_secret
        self._http = httpx.AsyncClient(base_url=api_base.rstrip("/"), timeout=timeout,
                                       transport=transport)
        self._token: tuple[str, float] | None = None

    async def __aenter__(self) -> "DingTalkContacts":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _access_token(self, refresh: bool = False) -> str:
        if self._token and not refresh and self._token[1] > time.monotonic():
            return self._token[0]
        data = await self._call("GET", "/gettoken",
                                params={"appkey": self._app_key, "appsecret": self._app_secret})
        self._token = (data["access_token"],
                       time.monotonic() + max(int(data.get("expires_in", 7200)) - 300, 60))
        return self._token[0]

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise DingTalkUnavailable(f"DingTalk {path}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise DingTalkUnavailable(f"DingTalk {path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise DingTalkError(f"DingTalk {path}: not JSON (HTTP {response.status_code})") from None
        if not isinstance(data, dict):
            raise DingTalkError(f"DingTalk {path}: unexpected answer")
        return data

    async def _api(self, path: str, body: dict[str, Any]) -> Any:
        for attempt in (0, 1):
            token = await self._access_token(refresh=attempt == 1)
            data = await self._call("POST", path, params={"access_token": token}, json=body)
            code = data.get("errcode", -1)
            if code == 0:
                return data.get("result")
            if code in TOKEN_ERRORS and attempt == 0:
                continue
            raise DingTalkError(f"DingTalk {path}: {code} {data.get('errmsg', '')}".strip(),
                                details={"errcode": code})
        raise DingTalkError(f"DingTalk {path}: token refused twice")  # pragma: no cover

    # ---- the API calls -------------------------------------------------------------------
    async def list_sub_departments(self, dept_id: int) -> list[dict[str, Any]]:
        return list(await self._api("/topapi/v2/department/listsub", {"dept_id": dept_id}) or [])

    async def list_users(self, dept_id: int) -> list[dict[str, Any]]:
        users, cursor = [], 0
        while True:
            page = await self._api("/topapi/v2/user/list",
                                   {"dept_id": dept_id, "cursor": cursor, "size": PAGE_SIZE}) or {}
            users.extend(page.get("list") or [])
            if not page.get("has_more"):
                return users
            cursor = page.get("next_cursor")

    async def user_id_for_code(self, code: str) -> str:
        result = await self._api("/topapi/v2/user/getuserinfo", {"code": code}) or {}
        userid = result.get("userid")
        if not userid:
            raise DingTalkError("DingTalk returned no userid for this code")
        return str(userid)

    # ---- the organisation ----------------------------------------------------------------
    async def fetch_snapshot(self, root_name: str = "总公司") -> Snapshot:
        """Every department (breadth first from the root) and every user, as a snapshot."""
        snapshot = Snapshot()
        root = str(ROOT_DEPT_ID)
        snapshot.units.append(UnitIn(id=root, name=root_name, kind="hq"))
        unit_of: dict[str, str] = {root: root}  # dept id -> unit id (a unit is its own)
        queue, seen = [ROOT_DEPT_ID], {ROOT_DEPT_ID}
        while queue:
            parent = queue.pop(0)
            for dept in await self.list_sub_departments(parent):
                dept_id = int(dept["dept_id"])
                if dept_id in seen:
                    continue
                seen.add(dept_id)
                queue.append(dept_id)
                key, name, parent_key = str(dept_id), str(dept.get("name", "")), str(parent)
                parent_unit = unit_of[parent_key]
                kind = unit_kind(name)
                if kind:
                    snapshot.units.append(UnitIn(id=key, name=name, kind=kind,
                                                 parent_id=parent_unit))
                    unit_of[key] = key
                else:
                    parent_dept = parent_key if parent_key != parent_unit else None
                    snapshot.departments.append(DepartmentIn(id=key, name=name,
                                                             unit_id=parent_unit,
                                                             parent_id=parent_dept))
                    unit_of[key] = parent_unit
        users: dict[str, UserIn] = {}
        unit_ids = {u.id for u in snapshot.units}
        for dept_id in sorted(seen):
            for raw in await self.list_users(dept_id):
                userid = str(raw.get("userid", ""))
                if not userid or userid in users:
                    continue  # a user in several departments keeps the first one
                key = str(dept_id)
                users[userid] = UserIn(
                    id=userid, name=str(raw.get("name", ""))[:100] or userid,
                    mobile=str(raw["mobile"]) if raw.get("mobile") else None,
                    unit_id=unit_of[key], department_id=None if key in unit_ids else key,
                    status="active" if raw.get("active", True) else "disabled")
        snapshot.users = list(users.values())
        return snapshot


def unit_kind(name: str) -> str | None:
    if name.endswith(BRANCH_SUFFIXES):
        return "branch"
    if name.endswith(SUB_BRANCH_SUFFIXES):
        return "sub_branch"
    return None


def from_settings(settings: Any) -> DingTalkContacts:
    return DingTalkContacts(settings.dingtalk_contacts_app_key,
                            settings.dingtalk_contacts_app_secret,
                            api_base=settings.dingtalk_contacts_url)
