"""The handlers that answer every error as problem+json: the service's own (``AppError``), the framework's
validation errors and HTTP errors, and anything unexpected (500, logged with the request id)."""

import logging

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core.errors import (
    AppError,
    BadRequest,
    HttpError,
    InternalError,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    field_errors_from_pydantic,
    is_json,
    problem_response,
    unsupported_media_type,
)
from app.core.i18n import Text

log = logging.getLogger("smps")


def _reads_json(request: Request) -> bool:
    """Whether the request's route reads a JSON body (not a form, not a file)."""
    field = getattr(request.scope.get("route"), "body_field", None)
    return field is not None and not isinstance(field.field_info, params.Form)


# Framework errors with a class of their own; any other status is an HttpError.
_HTTP_KINDS: dict[int, type[AppError]] = {400: BadRequest, 404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        raw = list(exc.errors())
        if _reads_json(request) and not is_json(request.headers.get("content-type")):
            return problem_response(request, unsupported_media_type())
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem_response(
                request, MalformedJson(Text("请求体不是有效的 JSON", "The request body is not valid JSON"))
            )
        return problem_response(request, ValidationFailed(errors=field_errors_from_pydantic(raw)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # 400: FastAPI could not read the body (e.g. JSON that is not UTF-8, a broken form).
        headers = dict(exc.headers or {})
        kind = _HTTP_KINDS.get(exc.status_code)
        error = kind(headers=headers) if kind is not None else HttpError(exc.status_code, headers=headers)
        return problem_response(request, error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", None)})
        return problem_response(request, InternalError())
