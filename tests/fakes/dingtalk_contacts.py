"""A fake DingTalk open API for contacts and login (real HTTP on 127.0.0.1, in a thread).

``/gettoken``, ``/topapi/v2/department/listsub``, ``/topapi/v2/user/list`` (paged by
``cursor``/``size``) and ``/topapi/v2/user/getuserinfo`` (login codes from ``login_codes``).
Tests edit ``departments`` ({dept_id: (name, parent_id)}) and ``users``
({userid: {"name", "mobile", "dept_id_list"}}) between syncs.
"""
from __future__ import annotations

from typing import Any

from tests.fakes.notify_servers import Answer, Recorded, _TokenIssuer


class FakeDingTalkContacts(_TokenIssuer):
    def __init__(self, app_key: str = "ding-contacts-key", app_secret: str = "ding-contacts-secret",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key, self.app_secret = app_key, app_secret
        self.departments: dict[int, tuple[str, int]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.login_codes: dict[str, str] = {}

    def reset(self) -> None:
        self.departments = {
            2: ("北京分公司", 1), 3: ("海淀支公司", 2), 4: ("个险部", 3), 5: ("信息技术部", 1),
            6: ("上海分公司", 1),
        }
        self.users = {
            "ding-zhang": {"name": "张伟", "mobile": "13800000001", "dept_id_list": [5]},
            "ding-li": {"name": "李娜", "mobile": "13800000002", "dept_id_list": [2]},
            "ding-wang": {"name": "王芳", "mobile": "13800000003", "dept_id_list": [4]},
            "ding-zhao": {"name": "赵磊", "mobile": "13800000004", "dept_id_list": [6]},
        }
        self.login_codes = {}
        self.scenario = "ok"
        self.requests.clear()

    def handle(self, request: Recorded) -> Answer:
        if request.path == "/gettoken":
            if (request.query.get("appkey"), request.query.get("appsecret")) != (
                    self.app_key, self.app_secret):
                return 200, self.error(40089, "不合法的corpid或corpsecret")
            return 200, {"errcode": 0, "errmsg": "ok", **self.issue()}
        if request.method != "POST":
            return 404, self.error(404, "请求的URI地址不存在")
        scenario = self.take_scenario()
        refusal = self.common(scenario) or self.token_refusal(
            request.query.get("access_token", ""), scenario)
        if refusal:
            return refusal
        body = request.json()
        if request.path == "/topapi/v2/department/listsub":
            parent = int(body.get("dept_id", 1))
            if parent != 1 and parent not in self.departments:
                return 200, self.error(60003, "部门不存在")
            return 200, {"errcode": 0, "errmsg": "ok", "result": [
                {"dept_id": d, "name": name, "parent_id": p}
                for d, (name, p) in sorted(self.departments.items()) if p == parent]}
        if request.path == "/topapi/v2/user/list":
            dept = int(body["dept_id"])
            cursor, size = int(body.get("cursor", 0)), int(body.get("size", 100))
            members = [{"userid": uid, "name": u["name"], "mobile": u.get("mobile", ""),
                        "dept_id_list": u["dept_id_list"], "active": u.get("active", True)}
                       for uid, u in sorted(self.users.items()) if dept in u["dept_id_list"]]
            page = members[cursor:cursor + size]
            more = cursor + size < len(members)
            return 200, {"errcode": 0, "errmsg": "ok", "result": {
                "has_more": more, "next_cursor": cursor + size if more else None, "list": page}}
        if request.path == "/topapi/v2/user/getuserinfo":
            userid = self.login_codes.pop(body.get("code", ""), None)
            if userid is None:
                return 200, self.error(40078, "不存在的临时授权码")
            return 200, {"errcode": 0, "errmsg": "ok",
                         "result": {"userid": userid, "name": self.users.get(userid, {}).get("name")}}
        return 404, self.error(404, "请求的URI地址不存在")
