"""The stable problem codes: every `code` an error class of the service declares, with its status and meaning.

Collected from the `AppError` subclasses once every router is imported, and written into the document as
the enum of `Problem.code` (a test checks that no class is missing)."""

from typing import Any

from app.core.errors import AppError, HttpError, InternalError

# Answered only by the handlers (app.core.errors), with a meaning of their own here.
_HANDLER_CODES = {
    "http_error": (0, "Another HTTP error of the framework (status as sent)"),
    "internal_error": (500, "Internal server error: a fault of the service, logged with the request id"),
}


def _subclasses(kind: type[AppError]) -> list[type[AppError]]:
    out: list[type[AppError]] = []
    for sub in kind.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def stable_codes() -> dict[str, tuple[int, str]]:
    kinds: list[type[AppError]] = [AppError, *_subclasses(AppError)]
    codes = {
        kind.code: (kind.status, kind.title.en)
        for kind in kinds
        if kind.__module__.startswith("app.") and kind not in (HttpError, InternalError)
    }
    return {**codes, **_HANDLER_CODES}


def titles() -> dict[str, str]:
    """code → the Chinese title its problems carry."""
    kinds: list[type[AppError]] = [AppError, *_subclasses(AppError)]
    return {kind.code: kind.title.zh for kind in kinds if kind.__module__.startswith("app.")}


def document_codes(schema: dict[str, Any]) -> None:
    codes = stable_codes()
    member = schema["components"]["schemas"]["Problem"]["properties"]["code"]
    member["enum"] = sorted(codes)
    lines = [f"- `{code}` ({status or 'any'}): {meaning}" for code, (status, meaning) in sorted(codes.items())]
    member["description"] = "Stable machine code of the problem:\n\n" + "\n".join(lines)
