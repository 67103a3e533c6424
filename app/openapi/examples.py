"""Examples of problems in the document: one of each code an operation declares, as it answers it.
(The request bodies' examples are declared on each route: app/examples.py.)"""

import re
from typing import Any

from app.openapi.problem_codes import titles

# Members beyond `type`, `title`, `status`, `code` that a problem of each code carries (an example of each).
_FIELD_ERROR = {"code": "required", "message": "必填字段缺失"}
PROBLEM_MEMBERS: dict[str, dict[str, Any]] = {
    "not_authenticated": {"detail": "缺少或无效的访问令牌"},
    "invalid_credentials": {"detail": "用户名或密码错误"},
    "forbidden": {"required_roles": ["reviewer"]},
    "invalid_state_transition": {
        "detail": "“submit”不适用于当前状态 provincial_review",
        "state": "provincial_review",
    },
    "invalid_state": {"detail": "申请书已冻结，不能修改", "state": "endorsing"},
    "deadline_passed": {"deadline": "2023-06-30T17:00:00+08:00"},
    "precondition_failed": {"title": "资源已被修改（If-Match 不匹配）", "current_etag": '"7"'},
    "precondition_required": {"detail": "此操作需要 If-Match 请求头（资源的 ETag）"},
    "payload_too_large": {"max_bytes": 52428800},
    "unsupported_media_type": {"reason": "type_mismatch", "allowed_types": ["pdf", "ofd", "jpeg", "png"]},
    "quota_exceeded": {"quota": 5},
    "attachment_limit_reached": {"kind": "application_form_scan", "max_count": 3},
    "application_invalid": {
        "errors": [{"pointer": "/sections/objectives", "code": "required", "message": "必填字段缺失"}]
    },
    "idempotency_key_reused": {"detail": "同一 Idempotency-Key 已用于内容不同的请求"},
}


def _field_error(operation: dict[str, Any]) -> dict[str, Any]:
    """A field error of this operation: a required member of its JSON body, else its first parameter."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        first: dict[str, Any] = next(iter(body.get("examples", {}).values()), {})
        example = first.get("value")
        member = next(iter(example), None) if isinstance(example, dict) and example else None
        if member is not None:
            return {"pointer": f"/{member}", **_FIELD_ERROR}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            return {"pointer": f"query:/{parameter['name']}", "code": "invalid_format", "message": "格式不正确"}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            return {"pointer": f"path:/{parameter['name']}", "code": "too_long", "message": "长度超过上限 32"}
    return {"pointer": "/", **_FIELD_ERROR}


def problem_example(operation: dict[str, Any], status: str, code: str) -> dict[str, Any]:
    """A problem of ``code`` as ``operation`` answers it (Chinese, as a client asking `zh-CN` reads it)."""
    members = dict(PROBLEM_MEMBERS.get(code, {}))
    if code == "validation_failed" or (code in ("duplicate", "unknown_columns") and "errors" not in members):
        members["errors"] = [_field_error(operation)]
    return {
        "type": f"urn:smps:problem:{code}",
        "title": titles().get(code, code),
        "status": int(status),
        "code": code,
        **members,
        "request_id": "req_5f2c9a7e1b3d4c60",
    }


def declared_codes(response: dict[str, Any]) -> list[str]:
    """The codes a problem response declares, in its description's order (`a, b` or `` `a`: …; `b`: … ``)."""
    text = response.get("description", "")
    quoted = re.findall(r"`([a-z_]+)`:", text)
    return quoted or [c.strip() for c in text.split(",") if re.fullmatch(r"[a-z_]+", c.strip())]


def add_examples(operation: dict[str, Any]) -> None:
    for status, response in operation["responses"].items():
        problem = response.get("content", {}).get("application/problem+json")
        if problem is None:
            continue
        problem["examples"] = {
            code: {"summary": f"`{code}`", "value": problem_example(operation, status, code)}
            for code in declared_codes(response)
        }
