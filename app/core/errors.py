"""Typed domain errors and their RFC 9457 problem+json rendering.

Each error kind has a stable ``code``; its ``type`` URI is ``urn:smps:problem:<code>``. Titles and
details are bilingual and chosen by ``Accept-Language``. Nothing from the request is echoed.
"""

import re
from dataclasses import dataclass
from email.message import Message
from typing import Any, ClassVar

import orjson
from fastapi import Request
from starlette.responses import Response

from app.core.i18n import Text, choices_text, negotiate
from app.core.problem_schema import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: where (a JSON Pointer into the request body), what, and why."""

    pointer: str
    code: str
    message: Text
    params: tuple[tuple[str, Any], ...] = ()

    def render(self, lang: str) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "code": self.code,
            "message": self.message.render(lang, **dict(self.params)),
        }


class AppError(Exception):
    """Base of every error the service answers with on purpose."""

    # Per class; an instance may carry its own (HttpError: the status the framework sent).
    status: int = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[Text] = Text("请求无效", "Bad request")
    default_detail: ClassVar[Text | None] = None

    def __init__(
        self,
        detail: Text | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        self.detail = detail or self.default_detail
        self.params = params
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.code)

    def body(self, lang: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:smps:problem:{self.code}",
            "title": self.title.render(lang),
            "status": self.status,
            "code": self.code,
        }
        if self.detail is not None:
            body["detail"] = self.detail.render(lang, **self.params)
        if self.errors:
            body["errors"] = [e.render(lang) for e in self.errors]
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status = 400
    code = "bad_request"
    title = Text("请求无效", "Bad request")


class MalformedJson(AppError):
    status = 400
    code = "malformed_json"
    title = Text("JSON 格式错误", "Malformed JSON")


class NotAuthenticated(AppError):
    status = 401
    code = "not_authenticated"
    title = Text("未认证", "Authentication required")


class InvalidCredentials(AppError):
    status = 401
    code = "invalid_credentials"
    title = Text("用户名或密码错误", "Invalid credentials")


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = Text("无权执行此操作", "Not allowed")


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = Text("资源不存在", "Not found")


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    title = Text("不支持该请求方法", "Method not allowed")


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = Text("与现有数据冲突", "Conflict")


class Duplicate(AppError):
    status = 409
    code = "duplicate"
    title = Text("记录已存在", "Already exists")


class InvalidState(AppError):
    status = 409
    code = "invalid_state"
    title = Text("当前状态不允许此操作", "Not allowed in the current state")


class InvalidTransition(AppError):
    status = 409
    code = "invalid_state_transition"
    title = Text("当前状态不允许该流转", "Transition not allowed in the current state")


class DeadlinePassed(AppError):
    status = 409
    code = "deadline_passed"
    title = Text("已过截止时间", "Deadline passed")


class LastAdmin(AppError):
    status = 409
    code = "last_admin"
    title = Text("不能停用或降级最后一位管理员", "The last active admin cannot be demoted or deactivated")


class SelfDeactivation(AppError):
    status = 409
    code = "self_deactivation"
    title = Text("不能停用自己的账户", "You cannot deactivate your own account")


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"
    title = Text("资源已被修改（If-Match 不匹配）", "The resource has changed (If-Match does not match)")


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = Text("请求体过大", "Payload too large")


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = Text("不支持的文件类型", "Unsupported media type")


JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


def is_json(content_type: str | None) -> bool:
    """``application/json``, ``application/merge-patch+json`` or any other ``+json`` (with parameters)."""
    if not content_type:
        return True  # no Content-Type: read as JSON, as FastAPI does
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def json_content(content: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON media type entry of an OpenAPI ``content`` map (``application/json``, or a merge patch's)."""
    return next((media for name, media in content.items() if is_json(name)), None)


def unsupported_media_type() -> UnsupportedMediaType:
    """415 for a body that is not JSON where JSON is read."""
    return UnsupportedMediaType(
        Text(
            "请求体须为 JSON（application/json 或 application/merge-patch+json）",
            "The request body must be JSON (application/json or application/merge-patch+json)",
        ),
        extra={"allowed_types": [JSON, MERGE_PATCH]},
    )


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"
    title = Text("请求参数校验失败", "Validation failed")


class PreconditionRequired(AppError):
    status = 428
    code = "precondition_required"
    title = Text("缺少 If-Match 请求头", "If-Match header required")


class TooManyRequests(AppError):
    status = 429
    code = "too_many_attempts"
    title = Text("尝试次数过多，请稍后再试", "Too many attempts")


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    title = Text("服务暂不可用", "Service unavailable")


class IdempotencyKeyReused(AppError):
    status = 422
    code = "idempotency_key_reused"
    title = Text("该 Idempotency-Key 已用于另一个请求", "The Idempotency-Key was used with a different request")


class IdempotencyInFlight(AppError):
    status = 409
    code = "idempotency_in_flight"
    title = Text("使用该 Idempotency-Key 的请求仍在处理中", "A request with this Idempotency-Key is still in progress")


def problem_response(request: Request, error: AppError) -> Response:
    lang = negotiate(request.headers.get("accept-language"))
    body = error.body(lang)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    # The message follows Accept-Language; every 401 names the scheme (RFC 9110 §11.6.1).
    headers = {"Content-Language": lang, "Vary": "Accept-Language", **error.headers}
    if error.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return Response(orjson.dumps(body), status_code=error.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


# pydantic error types → our codes and bilingual messages (no input is ever echoed).
_PYDANTIC_MESSAGES: dict[str, tuple[str, Text]] = {
    "missing": ("required", Text("必填字段缺失", "Field required")),
    "extra_forbidden": ("unknown_field", Text("不允许的未知字段", "Unknown field")),
    "string_too_long": ("too_long", Text("长度超过上限 {max_length}", "At most {max_length} characters")),
    "string_too_short": ("too_short", Text("长度不足 {min_length}", "At least {min_length} characters")),
    "string_type": ("wrong_type", Text("应为字符串", "Must be a string")),
    "int_type": ("wrong_type", Text("应为整数", "Must be an integer")),
    "int_parsing": ("wrong_type", Text("应为整数", "Must be an integer")),
    "bool_type": ("wrong_type", Text("应为布尔值", "Must be a boolean")),
    "bool_parsing": ("wrong_type", Text("应为布尔值", "Must be a boolean")),
    "list_type": ("wrong_type", Text("应为数组", "Must be an array")),
    "dict_type": ("wrong_type", Text("应为对象", "Must be an object")),
    "model_type": ("wrong_type", Text("应为对象", "Must be an object")),
    "model_attributes_type": ("wrong_type", Text("应为对象", "Must be an object")),
    "enum": ("invalid_choice", Text("取值不在允许范围内：{expected}", "Must be one of {expected}")),
    "literal_error": ("invalid_choice", Text("取值不在允许范围内：{expected}", "Must be one of {expected}")),
    "date_from_datetime_parsing": ("invalid_date", Text("日期格式应为 YYYY-MM-DD", "Must be a date YYYY-MM-DD")),
    "date_parsing": ("invalid_date", Text("日期格式应为 YYYY-MM-DD", "Must be a date YYYY-MM-DD")),
    "date_type": ("invalid_date", Text("日期格式应为 YYYY-MM-DD", "Must be a date YYYY-MM-DD")),
    "datetime_parsing": ("invalid_datetime", Text("时间格式应为 RFC 3339", "Must be an RFC 3339 timestamp")),
    "datetime_from_date_parsing": ("invalid_datetime", Text("时间格式应为 RFC 3339", "Must be an RFC 3339 timestamp")),
    "timezone_aware": ("invalid_datetime", Text("时间必须带时区偏移", "Must carry a UTC offset")),
    "greater_than_equal": ("out_of_range", Text("应不小于 {ge}", "Must be at least {ge}")),
    "less_than_equal": ("out_of_range", Text("应不大于 {le}", "Must be at most {le}")),
    "greater_than": ("out_of_range", Text("应大于 {gt}", "Must be greater than {gt}")),
    "too_long": ("too_many_items", Text("条目过多（上限 {max_length}）", "At most {max_length} items")),
    "too_short": ("too_few_items", Text("条目不足（至少 {min_length}）", "At least {min_length} items")),
    "string_pattern_mismatch": ("invalid_format", Text("格式不正确", "Invalid format")),
    "float_parsing": ("wrong_type", Text("应为数字", "Must be a number")),
    "float_type": ("wrong_type", Text("应为数字", "Must be a number")),
    "decimal_parsing": ("wrong_type", Text("应为数字", "Must be a number")),
    "uuid_parsing": ("invalid_format", Text("格式不正确", "Invalid format")),
}


_REAL_DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NO_SUCH_DATE = Text("日期不存在：{date}", "No such date: {date}")


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


def field_errors_from_pydantic(errors: list[dict[str, Any]]) -> list[FieldError]:
    """Translate pydantic errors to field errors whose pointers address the request body.

    Parameters outside the body (query, path, header) get a pointer ``/<name>`` too, prefixed by
    where they live (``query:``), so a client can tell them apart.
    """
    out: list[FieldError] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        where, rest = (
            (loc[0], loc[1:]) if loc and loc[0] in ("body", "query", "path", "header", "cookie") else ("body", loc)
        )
        # Pydantic appends the tag of a function validator/union member; keep only field names.
        rest = tuple(p for p in rest if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        pointer = _pointer(rest) if where == "body" else f"{where}:{_pointer(rest)}"
        etype = err.get("type", "")
        ctx = {
            k: v
            for k, v in (err.get("ctx") or {}).items()
            if k in ("max_length", "min_length", "ge", "le", "gt", "expected")
        }
        if etype == "value_error" and isinstance((err.get("ctx") or {}).get("error"), DomainValueError):
            dve: DomainValueError = err["ctx"]["error"]
            at = pointer + _pointer((dve.at,)) if dve.at else pointer
            out.append(FieldError(at, dve.code, dve.text, tuple(dve.params.items())))
            continue
        code, text = _PYDANTIC_MESSAGES.get(etype, ("invalid", Text("取值无效", "Invalid value")))
        if "expected" in ctx and etype in ("enum", "literal_error"):
            # The choices with their Chinese labels in zh ("现行（existing）、待制定（to_be_drafted）").
            ctx["expected"] = choices_text(re.findall(r"'([^']*)'", str(ctx["expected"])), str(ctx["expected"]))
        elif etype.startswith("date") and _REAL_DATE_SHAPE.match(str(err.get("input", ""))):
            # Well-formed but not on the calendar (2027-02-30): the date is named, it is the user's own.
            text, ctx = _NO_SUCH_DATE, {"date": err["input"]}
        out.append(FieldError(pointer, code, text, tuple(ctx.items())))
    return out


class DomainValueError(ValueError):
    """Raised by field validators so the problem carries our own code and bilingual message."""

    def __init__(self, code: str, text: Text, at: str | None = None, **params: Any) -> None:
        # ``at``: the field of a model validator's model the problem is reported on (``end`` of a period).
        self.code, self.text, self.at, self.params = code, text, at, params
        super().__init__(text.render("en", **params))


class HttpError(AppError):
    """Another HTTP error of the framework, sent with its own status."""

    code = "http_error"

    def __init__(self, status: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status = status


class InternalError(AppError):
    status = 500
    code = "internal_error"
    title = Text("服务器内部错误", "Internal server error")


def problem_responses(*kinds: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the errors an endpoint can return."""
    out: dict[int | str, dict[str, Any]] = {}
    for kind in kinds:
        entry = out.setdefault(
            kind.status,
            {"model": Problem, "description": "", "content": {PROBLEM_MEDIA_TYPE: {}}},
        )
        entry["description"] = (entry["description"] + ", " if entry["description"] else "") + kind.code
    return out
