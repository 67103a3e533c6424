"""What the OpenAPI document says about the service as a whole: tags, servers, contact, licence and
security (an `http` bearer scheme beside the OAuth2 password flow, public operations marked public),
and problems as they are sent. The parts of the domain that describe more (the event payloads, the
stored shapes of an application) hand their amendments to ``add_to_openapi``."""

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI

from app.core.errors import PROBLEM_MEDIA_TYPE, json_content
from app.openapi.examples import add_examples
from app.openapi.headers import declare_headers, prune_errors
from app.openapi.patch import amend_openapi
from app.openapi.problem_codes import document_codes
from app.openapi.response_examples import add_response_examples

CONTACT = {"name": "smps maintainers"}
LICENSE = {"name": "Apache-2.0", "identifier": "Apache-2.0"}
# Relative: the document describes the server that serves it (behind any proxy or prefix).
SERVERS = [{"url": "/", "description": "The server this document was read from"}]

TAGS = [
    {"name": "auth", "description": "Tokens (OAuth2 password form), the caller (`/me`) and API keys (`smps_…`)."},
    {"name": "users", "description": "User accounts of an organization and their roles (admin only)."},
    {"name": "organizations", "description": "Units that apply, sign off or recommend, with their credit codes."},
    {
        "name": "reference",
        "description": "Calls (征集批次) with their catalogue, conditions, sections and attachment "
        "rules; provinces; a call's submission summary. Calls and provinces are public.",
    },
    {
        "name": "applications",
        "description": "Applications (申请书): draft, validation, transitions through the state "
        "machine, sign-offs by the four parties (online or on paper), the recommender's review and the outcome.",
    },
    {
        "name": "attachments",
        "description": "Files of an application (the stamped form scan, paper sign-off pages…), "
        "typed by their content, downloaded with Range support.",
    },
    {
        "name": "batches",
        "description": "A recommender's ranked list for a call (推荐名单): items, submission with a "
        "signed receipt, acknowledgement (受理) or return by the office.",
    },
    {
        "name": "documents",
        "description": "Printable documents: the application form PDF, the recommended list as XLSX and CSV.",
    },
    {
        "name": "bulk",
        "description": "Many applications at once from JSON rows, CSV or XLSX, processed in the background.",
    },
    {
        "name": "events",
        "description": "The change feed: every event the caller may see, in commit order, with a cursor.",
    },
    {"name": "webhooks", "description": "Subscriptions that receive the change feed as Standard Webhooks deliveries."},
    {"name": "health", "description": "Liveness and readiness probes for the operator (public)."},
]

BEARER = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (`smps_…`, from `POST /api/v1/api-keys` or `smps create-api-key`) or a token "
    "(`smpt_…`, from `POST /api/v1/auth/token`): `Authorization: Bearer …`.",
}


Amendment = Callable[[dict[str, Any]], None]


def add_problems_to_openapi(app: FastAPI) -> None:
    """Problems in the document as they are sent: ``application/problem+json`` with the Problem schema
    (``problem_responses`` entries come out of FastAPI as schema-less problem+json beside an application/json
    that is never sent), 400 on every operation (``bad_request``: a URL with a NUL character; and
    ``malformed_json`` where there is a body), and 415 where the body is JSON."""

    def amend(schema: dict[str, Any]) -> None:
        ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                codes = "malformed_json, bad_request" if "requestBody" in operation else "bad_request"
                operation["responses"].setdefault(
                    "400", {"description": codes, "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}}}
                )
                if json_content(operation.get("requestBody", {}).get("content", {})) is not None:
                    # A body in another media type (a form, text) where JSON is read.
                    operation["responses"].setdefault(
                        "415",
                        {"description": "unsupported_media_type", "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}}},
                    )
                for response in operation["responses"].values():
                    content = response.get("content", {})
                    if PROBLEM_MEDIA_TYPE in content and content.get("application/json", {}).get("schema") == ref:
                        del content["application/json"]
                        content[PROBLEM_MEDIA_TYPE] = {"schema": ref}

    amend_openapi(app, amend)


def add_to_openapi(app: FastAPI, described: Sequence[Amendment] = ()) -> None:
    """The service as a whole; ``described``: the domain's own amendments of the components (event
    payloads, stored shapes), run after the problem codes and before the operations are finished."""

    def amend(schema: dict[str, Any]) -> None:
        schema["info"]["contact"] = CONTACT
        schema["info"]["license"] = LICENSE
        schema["servers"] = SERVERS
        used = {t for ops in schema["paths"].values() for op in ops.values() for t in op.get("tags", [])}
        schema["tags"] = [t for t in TAGS if t["name"] in used]
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        oauth2 = next(iter(schemes), None)
        schemes[BEARER] = BEARER_SCHEME
        document_codes(schema)
        for describe in described:
            describe(schema)
        schema["security"] = [{BEARER: []}] + ([{oauth2: []}] if oauth2 else [])
        for operations in schema["paths"].values():
            for operation in operations.values():
                # FastAPI marks the operations whose dependencies read the credentials; the root applies
                # to them (either scheme), every other operation is public (also one that says `security: []`).
                if not operation.pop("security", None):
                    operation["security"] = []
                # Optional in Python so that a missing header is our 428 problem, not a validation error.
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
                        parameter["required"] = True
                        parameter["schema"] = {"type": "string", "minLength": 1}
                prune_errors(operation)
                declare_headers(operation)
                add_examples(operation)
                add_response_examples(operation)

    amend_openapi(app, amend)
