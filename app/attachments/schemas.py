"""API shapes of attachments."""

from datetime import datetime

from pydantic import BaseModel, Field

from app.attachments.sniff import MediaType
from app.core.settings import AttachmentType


class AttachmentPublic(BaseModel):
    """A file of an application (附件): its kind, name, type judged by content, size and SHA-256."""

    id: str = Field(description="Attachment id")
    application_id: str = Field(description="申请书 id of the application")
    kind: str = Field(description="One of the kinds in the call's `attachment_rules`")
    filename: str = Field(description="The original file name, sanitized (no path parts, no control characters)")
    description: str | None = Field(description="The uploader's description of the file")
    file_type: AttachmentType = Field(description="Detected from the content: pdf | ofd | docx | xlsx | jpeg | png")
    media_type: MediaType = Field(description="The media type of the detected file type (sent on download)")
    size: int = Field(description="Bytes")
    sha256: str = Field(description="SHA-256 of the content, lowercase hex; also the download's ETag")
    uploaded_by: str = Field(description="The user who uploaded it")
    created_at: datetime = Field(description="When it was uploaded")
