"""The problem+json body as an OpenAPI schema."""

from pydantic import BaseModel, Field


class ProblemFieldError(BaseModel):
    pointer: str = Field(description="JSON Pointer into the request body (or `query:/name` for a parameter)")
    code: str = Field(description="Stable machine code of this field's problem")
    message: str = Field(description="Human-readable message in the negotiated language")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="`urn:smps:problem:<code>`")
    title: str
    status: int
    code: str = Field(description="Stable machine code, e.g. `deadline_passed`")
    detail: str | None = None
    request_id: str | None = None
    errors: list[ProblemFieldError] | None = None
