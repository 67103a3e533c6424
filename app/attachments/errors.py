"""Problems only attachments answer with (the shared ones live in app.core.errors)."""

from typing import TYPE_CHECKING

from app.core.errors import AppError, PayloadTooLarge
from app.core.i18n import Text

if TYPE_CHECKING:
    from app.attachments.upload import UploadLimits


class MalformedMultipart(AppError):
    status = 400
    code = "malformed_multipart"
    title = Text("multipart 请求体格式错误", "Malformed multipart body")


class TooManyAttachments(AppError):
    status = 409
    code = "attachment_limit_reached"
    title = Text("该类附件数量已达上限", "The application has the most attachments of this kind allowed")


class RangeNotSatisfiable(AppError):
    status = 416
    code = "range_not_satisfiable"
    title = Text("请求的范围无法满足", "Range not satisfiable")


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0")


def upload_too_large(limits: "UploadLimits") -> PayloadTooLarge:
    """413 naming the limit that applies: the per-file one, or what is left of the application's total."""
    if limits.file_bytes < limits.per_file_bytes:
        detail = Text(
            "该申报的附件总量将超过上限，剩余可用 {mib} MiB",
            "The application's attachments would exceed their total limit; {mib} MiB remain",
        )
    else:
        detail = Text("文件超过单个附件大小上限 {mib} MiB", "The file exceeds the limit of {mib} MiB per attachment")
    return PayloadTooLarge(detail, mib=_mib(limits.file_bytes), extra={"max_bytes": limits.file_bytes})
