"""Response headers in the document where the service sends them, and error responses only where they can occur.

What a route sends because of what it is (an ETag, a file…) it declares itself (``app.core.route_facts``);
`tests/contract/test_response_headers.py` sends requests and checks that what arrives is declared (and Schemathesis that what is declared as required arrives)."""

from typing import Any

from app.core.errors import json_content

_STR = {"type": "string"}
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "The resource's entity tag: send it as `If-Match` to change it", "schema": _STR},
    "Application-ETag": {
        "description": "The application's ETag after this change to its attachments: the `If-Match` of its next write",
        "schema": _STR,
    },
    "Location": {"description": "URL of the resource created (or, for a bulk upload, of its progress)", "schema": _STR},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}},
    "WWW-Authenticate": {"description": "The scheme to authenticate with: `Bearer`", "schema": _STR},
    "Content-Disposition": {
        "description": "`attachment` with the file name (RFC 6266, UTF-8 and an ASCII fallback)",
        "schema": _STR,
    },
    "Content-Range": {
        "description": "`bytes first-last/size` of a partial response; `bytes */size` on a 416",
        "schema": _STR,
    },
}


def add_header(response: dict[str, Any], name: str, *, required: bool) -> None:
    response.setdefault("headers", {})[name] = {**HEADERS[name], "required": required}


def declare_headers(operation: dict[str, Any]) -> None:
    """The headers every operation of its kind sends; those a route declares it sends
    (``app.core.route_facts``) are written by ``app.openapi.routes``."""
    idempotent = any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    for status, response in operation["responses"].items():
        if status.startswith("2") and idempotent:
            add_header(response, "Idempotent-Replayed", required=False)
        if status == "409" and idempotent:
            add_header(response, "Retry-After", required=False)  # on `idempotency_in_flight`
        if status == "429":
            add_header(response, "Retry-After", required=True)
        if status == "401":
            add_header(response, "WWW-Authenticate", required=True)
        if status in ("206", "416"):
            add_header(response, "Content-Range", required=True)


# What each 400 code of the service means; `bad_request` can answer any operation (RejectNulInUrl runs
# before routing), so a parameterless GET declares it too, and says when.
_BAD_REQUEST = {
    "malformed_json": "the body is not valid JSON",
    "malformed_multipart": "the multipart body is broken (boundary, parts or Content-Length)",
    "bad_request": "the URL contains a NUL character (`%00` in the path or the query string)",
}
# Bodies the framework may fail to read, by media type (a URL-encoded form is always readable).
_UNREADABLE_BODY = {
    "application/json": "JSON that is not UTF-8",
    "application/merge-patch+json": "JSON that is not UTF-8",
    "multipart/form-data": "a broken multipart form",
}


def _describe_bad_request(operation: dict[str, Any]) -> None:
    response = operation["responses"].get("400")
    if response is None:
        return
    media = operation.get("requestBody", {}).get("content", {})
    codes = {c.strip() for c in response.get("description", "").split(",") if c.strip()} | {"bad_request"}
    if json_content(media) is None:
        codes.discard("malformed_json")
    meanings = []
    for code in sorted(codes, key=list(_BAD_REQUEST).index):
        meaning = _BAD_REQUEST[code]
        unreadable = [_UNREADABLE_BODY[m] for m in media if m in _UNREADABLE_BODY]
        if code == "bad_request" and unreadable and "malformed_multipart" not in codes:
            meaning += f", or the body could not be read (e.g. {', '.join(unreadable)})"
        meanings.append(f"`{code}`: {meaning}")
    response["description"] = "; ".join(meanings)


def _declare_body_validation(operation: dict[str, Any]) -> None:
    """A JSON body is validated by its schema first: its 422 can be `validation_failed` whatever else the
    route declares (its own 422 entries replace the framework's)."""
    response = operation["responses"].get("422")
    if response is None or "application/json" not in operation.get("requestBody", {}).get("content", {}):
        return
    codes = [c.strip() for c in response.get("description", "").split(",") if c.strip()]
    if "validation_failed" not in codes:
        response["description"] = ", ".join(["validation_failed", *codes])


def prune_errors(operation: dict[str, Any]) -> None:
    """No 422 where nothing is validated (no parameter, no body); no 412/428 without an If-Match parameter;
    the 400 says what each of its codes means; a JSON body's 422 names `validation_failed`."""
    _describe_bad_request(operation)
    _declare_body_validation(operation)
    parameters = operation.get("parameters", [])
    if not parameters and "requestBody" not in operation:
        operation["responses"].pop("422", None)
    if not any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
        operation["responses"].pop("412", None)
        operation["responses"].pop("428", None)
