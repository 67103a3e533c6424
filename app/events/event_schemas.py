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
    """`application.created`: a draft was created."""

    state: StateName = Field(description="Its state (draft)")
    title: str = Field(description="试点项目名称 the pilot's name")


class ChangedFieldsData(_Data):
    """`application.updated`, `organization.updated`: members changed."""

    fields: list[str] = Field(description="Names of the top-level fields that changed")


class ApplicationDeletedData(_Data):
    """`application.deleted`: a draft was deleted."""

    title: str = Field(description="试点项目名称 the pilot's name")


class ApplicationStateChangedData(_Data):
    """`application.state_changed`: the application took a step."""

    action: str = Field(
        description="The step: a caller's action or the system's (`all_agreed`, `batch_submitted`…)",
        json_schema_extra={"enum": [*sorted({step.action for step in STEPS})]},
    )
    from_: StateName = Field(alias="from", description="The state before")
    to: StateName = Field(description="The state after")


class EndorsementRecordedData(_Data):
    """`endorsement.recorded`: a party signed."""

    role: PartyRole = Field(description="The party: undertaking, participating, guarantor or guidance")
    organization_id: str = Field(description="The party's organization")
    decision: EndorsementDecision = Field(description="agree or disagree")
    mode: EndorsementMode = Field(description="online or paper")


class EndorsementVerifiedData(_Data):
    """`endorsement.verified`: the reviewer checked a paper page."""

    verdict: Verdict = Field(description="confirmed or rejected")


class ReviewRecordedData(_Data):
    """`review.recorded`: the recommender decided."""

    decision: ReviewDecision = Field(description="recommend, return or reject")


class AttachmentAddedData(_Data):
    """`attachment.added`: a file was attached."""

    kind: str = Field(description="The attachment kind (a key of the call's `attachment_rules`)")
    sha256: str = Field(description="SHA-256 of its content")
    size: int = Field(description="Bytes")
    file_type: AttachmentType = Field(description="Its type, judged by content")


class AttachmentDeletedData(_Data):
    """`attachment.deleted`: a file was removed."""

    kind: str = Field(description="The attachment kind")
    sha256: str = Field(description="SHA-256 of its content")


class BatchData(_Data):
    """`batch.*`: a recommended list changed."""

    call_id: str = Field(description="征集批次 id of the call (`GET /calls/{call_id}`)")
    state: BatchState = Field(description="The list's state after the event")


class BatchItemsSetData(BatchData):
    """`batch.items_set`: the ranked list was replaced."""

    item_count: int = Field(description="Applications on the list")


class BatchSubmittedData(BatchItemsSetData):
    """`batch.submitted`: the list was submitted with a receipt."""

    tracking_number: str = Field(description="The receipt's tracking number")


class CallCreatedData(_Data):
    """`call.created`: a call was opened."""

    key: str = Field(description="Its readable key")
    deadline: str = Field(description="RFC 3339")


class CallUpdatedData(_Data):
    """`call.updated`: a call's deadline or quota changed."""

    reason: str = Field(description="Why")
    previous_deadline: str | None = Field(default=None, description="The deadline before (RFC 3339)")
    deadline: str | None = Field(default=None, description="The deadline after (RFC 3339)")
    previous_quota: int | None = Field(default=None, description="The quota before")
    quota: int | None = Field(default=None, description="The quota after")


class OrganizationCreatedData(_Data):
    """`organization.created`: an organization was registered."""

    name: str = Field(description="Its name")


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
            "type": {"type": "string", "const": event_type, "description": "What happened (事件类型)"},
            "subject_type": {**base["properties"]["subject_type"], "const": event_type.split(".")[0]},
            "data": {"$ref": f"#/components/schemas/{model.__name__}", "description": "What changed"},
        }
        happened = (model.__doc__ or "").split(": ", 1)[-1]  # the docstring names its types first
        description = f"An event of type `{event_type}`: {happened}"
        components[name] = {**base, "title": name, "description": description, "properties": properties}
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
