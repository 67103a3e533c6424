"""The problem+json body as an OpenAPI schema, with every extension member some problem carries."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.settings import AttachmentType

# The closed vocabularies of the extension members, as the domain defines them (the kernel does not import
# the domain: tests/contract/test_enums.py checks these against it). The model only describes the document.
RoleName = Literal["applicant", "signatory", "reviewer", "office", "admin"]
StateName = Literal[  # an application's (申请书) or a recommended list's (推荐名单)
    "draft",
    "endorsing",
    "provincial_review",
    "recommended",
    "submitted",
    "approved",
    "not_approved",
    "returned",
    "rejected",
    "withdrawn",
    "open",
    "acknowledged",
]


class ProblemFieldError(BaseModel):
    """One field's problem in a `validation_failed` (and some other) problem."""

    pointer: str = Field(description="JSON Pointer into the request body (or `query:/name` for a parameter)")
    code: str = Field(description="Stable machine code of this field's problem")
    message: str = Field(description="Human-readable message in the negotiated language")


class Problem(BaseModel):
    """RFC 9457 problem details. Members beyond `type … detail` appear only on the problems named."""

    # Other members may be added later (RFC 9457 §3.2): clients ignore what they do not know.
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`urn:smps:problem:<code>`")
    title: str = Field(description="Short summary of the kind of problem, in the negotiated language")
    status: int = Field(description="The HTTP status code")
    code: str = Field(description="Stable machine code, e.g. `deadline_passed`")
    detail: str | None = Field(None, description="What went wrong with this request, in the negotiated language")
    request_id: str | None = Field(None, description="The request's id (also `X-Request-ID`), for the operator's logs")
    errors: list[ProblemFieldError] | None = Field(None, description="`validation_failed`…: one entry per field")
    current_etag: str | None = Field(None, description="`precondition_failed`: the resource's current ETag")
    required_roles: list[RoleName] | None = Field(
        None, description="`forbidden`: a role the caller would need (any of)"
    )
    allowed_types: list[AttachmentType] | None = Field(
        None, description="`unsupported_media_type`: the file types accepted here (judged by content)"
    )
    reason: str | None = Field(
        None, description="`unsupported_media_type` (`type_mismatch`, `empty_file`…), `invalid_state`: a machine reason"
    )
    state: StateName | None = Field(
        None, description="`invalid_state`, `invalid_state_transition`: the current state of the application or list"
    )
    deadline: str | None = Field(None, description="`deadline_passed`: the deadline passed (RFC 3339, Beijing time)")
    max_bytes: int | None = Field(None, description="`payload_too_large`: the limit in bytes")
    quota: int | None = Field(None, description="`quota_exceeded`: the recommender's quota for the call")
    batch_id: str | None = Field(None, description="`duplicate`: the batch that exists already")
    kind: str | None = Field(None, description="`attachment_limit_reached`: the attachment kind")
    max_count: int | None = Field(None, description="`attachment_limit_reached`: how many of that kind are allowed")
    characters: list[str] | None = Field(
        None, description="`font_unavailable`: the code points (`U+1F600`) no installed font has a glyph for"
    )
    fonts_tried: list[str] | None = Field(None, description="`font_unavailable`: the font files tried, in order")
