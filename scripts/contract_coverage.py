"""How much of the OpenAPI document a consumer can rely on: closed sets typed, examples, descriptions.

    .venv/bin/python scripts/contract_coverage.py [openapi/openapi.json]

Prints one line per measure, `covered/total`, and the misses of each with `-v`. The closed response
fields are those named in CLOSED (a member name that holds a closed vocabulary wherever it appears in a
response schema, and a few members by schema); `tests/contract/test_coverage.py` holds the document to
full marks.
"""

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = "application/problem+json"

# Members that hold a closed vocabulary wherever they appear in a response schema.
CLOSED_NAMES = {
    "state",
    "from_state",
    "to_state",
    "decision",
    "mode",
    "verification",
    "party_role",
    "role",
    "roles",
    "required_roles",
    "action",
    "allowed_actions",
    "file_type",
    "media_type",
    "allowed_types",
    "authenticated_with",
    "recommender_kind",
    "subject_type",
    "source",
    "token_type",
    "level",
    "alg",
    "outcome",
}
# Members whose name alone does not say (`kind` of an organization and of an attachment, `code` of an
# error but not of a standard or a catalogue node, `status` of a row but not of a problem).
CLOSED_MEMBERS = {
    ("OrganizationPublic", "kind"),
    ("Problem", "code"),
    ("ProblemFieldError", "code"),
    ("ValidationIssue", "code"),
    ("RowError", "code"),
    ("RowResult", "status"),
    ("StandardRow", "status"),
    ("SignOff", "status"),
    ("VerifyResult", "reason"),
    ("UserPublic", "roles"),
    ("MePublic", "roles"),
}
# Left open on purpose: the feed's event types grow (clients must tolerate new ones); an attachment's kind
# is a key of its call's `attachment_rules`, which the office sets per call.
OPEN_MEMBERS = {
    ("WebhookDeliveryPublic", "event_type"),
    ("AttachmentPublic", "kind"),
    ("AttachmentAddedData", "kind"),
    ("AttachmentDeletedData", "kind"),
    ("Problem", "kind"),
}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _reachable(node: Any, schemas: dict[str, Any], out: set[str]) -> set[str]:
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/components/schemas/"):
            name = _ref_name(node["$ref"])
            if name not in out:
                out.add(name)
                _reachable(schemas.get(name, {}), schemas, out)
        for value in node.values():
            _reachable(value, schemas, out)
    elif isinstance(node, list):
        for value in node:
            _reachable(value, schemas, out)
    return out


def _closed(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Typed as a closed set: an enum or const (maybe behind a $ref, an array or a nullable anyOf)."""
    if "enum" in schema or "const" in schema:
        return True
    if "$ref" in schema:
        return _closed(schemas.get(_ref_name(schema["$ref"]), {}), schemas)
    if schema.get("type") == "array":
        return _closed(schema.get("items", {}), schemas)
    branches = [b for b in schema.get("anyOf", []) + schema.get("oneOf", []) if b.get("type") != "null"]
    return bool(branches) and all(_closed(b, schemas) for b in branches)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def declared_codes(response: dict[str, Any]) -> set[str]:
    """The problem codes a response says it carries: its description lists them (`a, b` or `` `a`: …; ``)."""
    text = response.get("description", "")
    quoted = re.findall(r"`([a-z_]+)`:", text)
    return set(quoted) if quoted else {c.strip() for c in text.split(",") if re.fullmatch(r"[a-z_]+", c.strip())}


def _has_example(media: dict[str, Any]) -> bool:
    return bool(media.get("example") is not None or media.get("examples"))


def measure(document: dict[str, Any]) -> dict[str, tuple[int, list[str]]]:
    """measure → (total, misses)."""
    schemas = document["components"]["schemas"]
    responses: set[str] = set()
    out: dict[str, tuple[int, list[str]]] = {}

    for _, _, op in operations(document):
        for response in op["responses"].values():
            _reachable(response.get("content", {}), schemas, responses)
    total, misses = 0, []
    for name in sorted(responses):
        for member, schema in schemas[name].get("properties", {}).items():
            if (name, member) in OPEN_MEMBERS:
                continue
            if member in CLOSED_NAMES or (name, member) in CLOSED_MEMBERS:
                total += 1
                if not _closed(schema, schemas):
                    misses.append(f"{name}.{member}")
    out["closed response fields typed as enum/$ref"] = (total, misses)

    total, misses = 0, []
    for _, _, op in operations(document):
        for status, response in op["responses"].items():
            media = response.get("content", {}).get("application/json")
            if status.startswith("2") and media is not None:
                total += 1
                if not _has_example(media):
                    misses.append(f"{op['operationId']} {status}")
    out["success JSON responses with an example"] = (total, misses)

    total, misses = 0, []
    for _, _, op in operations(document):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            total += 1
            if not _has_example(media):
                misses.append(f"{op['operationId']} {media_type}")
    out["request bodies with an example"] = (total, misses)

    total, misses = 0, []
    for _, _, op in operations(document):
        for status, response in op["responses"].items():
            media = response.get("content", {}).get(PROBLEM)
            if media is None:
                continue
            codes = declared_codes(response)
            examples = (
                [media["example"]] if "example" in media else [e["value"] for e in media.get("examples", {}).values()]
            )
            for example in examples:
                total += 1
                if example.get("code") not in codes or example.get("status") != int(status):
                    misses.append(f"{op['operationId']} {status} {example.get('code')}")
    out["error examples with a code the operation returns"] = (total, misses)

    def described(kind: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        out[kind] = (len(items), [name for name, item in items if not item.get("description")])

    described("component schemas with a description", list(schemas.items()))
    described(
        "schema properties with a description",
        [(f"{n}.{m}", p) for n, s in schemas.items() for m, p in s.get("properties", {}).items()],
    )
    described(
        "parameters with a description",
        [
            (f"{op['operationId']} {p['name']}", p)
            for _, _, op in operations(document)
            for p in op.get("parameters", [])
        ],
    )
    return out


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    document = json.loads(Path(paths[0] if paths else ROOT / "openapi" / "openapi.json").read_text())
    for name, (total, misses) in measure(document).items():
        print(f"{name}: {total - len(misses)}/{total}")
        if verbose:
            for miss in misses:
                print(f"    {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
