"""What a call allows of each kind of attachment (how many, which types) and what a file's content
must be: the checks of an upload that need neither the application nor the database."""

from typing import Any

from app.attachments import sniff
from app.attachments.errors import TooManyAttachments
from app.attachments.upload import MAX_DESCRIPTION_CHARS, ReceivedFile, ReceivedForm
from app.core.errors import FieldError, UnsupportedMediaType, ValidationFailed
from app.core.i18n import Text
from app.core.settings import Settings

_REFUSALS: dict[str, Text] = {
    "type_mismatch": Text(
        "文件内容不是允许的类型，或与扩展名不符",
        "The file's content is not an allowed type or does not match its extension",
    ),
    "not_a_document_archive": Text(
        "压缩包不是 OFD、DOCX 或 XLSX 文档，不予接收",
        "Archives other than OFD, DOCX and XLSX documents are not accepted",
    ),
    "encrypted_pdf": Text("PDF 已加密，请去除密码后上传", "The PDF is encrypted; upload it without a password"),
    "pdf_without_pages": Text("PDF 没有页面", "The PDF has no pages"),
    "unreadable_pdf": Text("PDF 文件已损坏或无法读取", "The PDF is damaged or cannot be read"),
    "unreadable_image": Text("图片已损坏或无法完整解码", "The image is damaged or does not decode whole"),
    "image_too_large": Text("图片像素超过上限（5000 万像素）", "The image has more than 50 megapixels"),
    "trailing_data": Text(
        "文件结束标记之后还有其他数据，不予接收", "The file has data after its end marker and is not accepted"
    ),
}


def unknown_kind(rules: dict[str, Any]) -> ValidationFailed:
    return ValidationFailed(
        errors=[
            FieldError(
                "/kind",
                "unknown_attachment_kind",
                Text("附件类别应为：{kinds}", "The kind must be one of: {kinds}"),
                (("kinds", ", ".join(sorted(rules))),),
            )
        ]
    )


def check_kind(rules: dict[str, Any], kind: str, count: int) -> None:
    """422 for a kind the call does not know; 409 when the application has the most of it allowed."""
    rule = rules.get(kind)
    if not isinstance(rule, dict):
        raise unknown_kind(rules)
    max_count = rule.get("max_count")
    if isinstance(max_count, int) and count >= max_count:
        raise TooManyAttachments(
            Text("该类附件最多 {max} 个", "At most {max} attachments of this kind"),
            max=max_count,
            extra={"kind": kind, "max_count": max_count},
        )


def allowed_types(settings: Settings, rules: dict[str, Any], kind: str | None) -> frozenset[str]:
    """The service's allowed types, narrowed by the call's ``types`` for the kind when it names some."""
    allowed = frozenset(settings.allowed_attachment_types)
    rule = rules.get(kind) if kind else None
    if isinstance(rule, dict) and isinstance(rule.get("types"), list):
        allowed &= frozenset(rule["types"])
    return allowed


def form_fields(form: ReceivedForm, rules: dict[str, Any]) -> tuple[str, str | None]:
    kind = form.fields.get("kind")
    errors = []
    if not kind:
        errors.append(FieldError("/kind", "required", Text("必填字段缺失", "Field required")))
    if form.file is None:
        errors.append(FieldError("/file", "required", Text("必填字段缺失", "Field required")))
    description = (form.fields.get("description") or "").strip() or None
    if description is not None:
        if len(description) > MAX_DESCRIPTION_CHARS:
            errors.append(
                FieldError(
                    "/description",
                    "too_long",
                    Text("长度超过上限 {max_length}", "At most {max_length} characters"),
                    (("max_length", MAX_DESCRIPTION_CHARS),),
                )
            )
        elif any(ord(ch) < 32 and ch not in "\n\t" or ord(ch) == 127 for ch in description):
            errors.append(
                FieldError(
                    "/description",
                    "control_characters",
                    Text("不能包含控制字符", "Must not contain control characters"),
                )
            )
    if errors:
        raise ValidationFailed(errors=errors)
    assert kind is not None
    if kind not in rules:
        raise unknown_kind(rules)
    return kind, description


def detect(received: ReceivedFile, allowed: frozenset[str]) -> sniff.Detected:
    """The file's type by its content, with its costly checks (image decode, PDF structure), or 415."""
    try:
        return sniff.finish(received.temp_path, received.head_kind, received.size, allowed)
    except sniff.Refused as refused:
        raise UnsupportedMediaType(_REFUSALS[refused.code], extra={"reason": refused.code}) from refused
