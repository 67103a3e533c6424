"""The `data` of each event type, and `EventPublic` in the document as a union discriminated by `type`.

Events are rendered from the store as they were written (app/events/feed.py); only the document is
built from these models, so a client gets one schema per event type."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from app.applications.schemas import (
    EndorsementDecision,
    EndorsementMode,
    PartyRole,
    ReviewDecision,
    StateName,
    Verdict,
)
from app.applications.workflow import STEPS
from app.batches.models import BatchState
from app.core.event_types import EVENT_TYPES
from app.core.settings import AttachmentType


class _Data(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ApplicationCreatedData(_Data):
    state: StateName
    title: str


class ChangedFieldsData(_Data):
    fields: list[str] = Field(description="Names of the top-level fields that changed")


class ApplicationDeletedData(_Data):
    title: str


class ApplicationStateChangedData(_Data):
    action: str = Field(
        description="The step: a caller's action or the system's (`all_agreed`, `batch_submitted`…)",
        json_schema_extra={"enum": [*sorted({step.action for step in STEPS})]},
    )
    from_: StateName = Field(alias="from")
    to: StateName


class EndorsementRecordedData(_Data):
    role: PartyRole
    organization_id: str
    decision: EndorsementDecision
    mode: EndorsementMode


class EndorsementVerifiedData(_Data):
    verdict: Verdict


class ReviewRecordedData(_Data):
    decision: ReviewDecision


class AttachmentAddedData(_Data):
    kind: str
    sha256: str
    size: int
    file_type: AttachmentType


class AttachmentDeletedData(_Data):
    kind: str
    sha256: str


class BatchData(_Data):
    call_id: str
    state: BatchState


class BatchItemsSetData(BatchData):
    item_count: int


class BatchSubmittedData(BatchItemsSetData):
    tracking_number: str


class CallCreatedData(_Data):
    key: str
    deadline: str = Field(description="RFC 3339")


class CallUpdatedData(_Data):
    reason: str
    previous_deadline: str | None = None
    deadline: str | None = None
    previous_quota: int | None = None
    quota: int | None = None


class OrganizationCreatedData(_Data):
    name: str


DATA: dict[str, type[_Data]] = {
    "application.created": ApplicationCreatedData,
    "application.updated": ChangedFieldsData,
    "application.deleted": ApplicationDeletedData,
    "application.state_changed": ApplicationStateChangedData,
    "endorsement.recorded": EndorsementRecordedData,
    "endorsement.verified": EndorsementVerifiedData,
    "review.recorded": ReviewRecordedData,
    "attachment.added": AttachmentAddedData,
    "attachment.deleted": AttachmentDeletedData,
    "batch.created": BatchData,
    "batch.items_set": BatchItemsSetData,
    "batch.submitted": BatchSubmittedData,
    "batch.acknowledged": BatchData,
    "batch.returned": BatchData,
    "call.created": CallCreatedData,
    "call.updated": CallUpdatedData,
    "organization.created": OrganizationCreatedData,
    "organization.updated": ChangedFieldsData,
}
assert set(DATA) == EVENT_TYPES


def _component(event_type: str) -> str:
    return "".join(part.title() for part in event_type.replace("_", ".").split(".")) + "Event"


UNKNOWN = "UnknownEvent"


def document_events(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    base = components["EventPublic"]
    _, defs = models_json_schema(
        [(m, "serialization") for m in set(DATA.values())], ref_template="#/components/schemas/{model}"
    )
    components.update(defs.get("$defs", {}))
    refs = []
    for event_type, model in sorted(DATA.items()):
        name = _component(event_type)
        properties = {
            **base["properties"],
            "type": {"type": "string", "const": event_type, "description": f"`{event_type}`"},
            "data": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
        components[name] = {**base, "title": name, "description": f"A `{event_type}` event", "properties": properties}
        refs.append({"$ref": f"#/components/schemas/{name}"})
    # New event types are additive (docs/versioning.md): a client generated from this document parses an
    # event of a type it does not know as this catch-all instead of failing the whole page.
    components[UNKNOWN] = {
        **base,
        "title": UNKNOWN,
        "description": (
            "An event of a type added after this version of the document: keep, skip or log it (dedupe by `id`, "
            "store its `cursor` as for any other event)"
        ),
        "properties": {
            **base["properties"],
            "type": {
                "type": "string",
                "not": {"enum": sorted(DATA)},
                "description": "A type not listed in this version of the document",
                "examples": ["application.archived"],
            },
            "data": {"type": "object", "additionalProperties": True, "description": "The event's data, as sent"},
        },
    }
    refs.append({"$ref": f"#/components/schemas/{UNKNOWN}"})
    components["EventPublic"] = {
        "title": "EventPublic",
        "description": (
            "One event of the change feed; `data` depends on `type`. The types are an open set: a type "
            "added later (CHANGELOG.md) arrives as `UnknownEvent` in a client generated from this version. "
            "Delivery is at least once (a page read again, a webhook retried): dedupe by `id`."
        ),
        "anyOf": refs,
    }
