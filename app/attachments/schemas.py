"""API shapes of attachments."""

from datetime import datetime

from pydantic import BaseModel, Field

from app.attachments.sniff import MediaType
from app.core.settings import AttachmentType


class AttachmentPublic(BaseModel):
    id: str
    application_id: str
    kind: str = Field(description="One of the kinds in the call's `attachment_rules`")
    filename: str = Field(description="The original file name, sanitized (no path parts, no control characters)")
    description: str | None
    file_type: AttachmentType = Field(description="Detected from the content: pdf | ofd | docx | xlsx | jpeg | png")
    media_type: MediaType = Field(description="The media type of the detected file type (sent on download)")
    size: int = Field(description="Bytes")
    sha256: str = Field(description="SHA-256 of the content, lowercase hex; also the download's ETag")
    uploaded_by: str
    created_at: datetime
