"""The validation engine: completeness and consistency of an application against its call.

The same rules answer ``GET /applications/{id}/validation`` and guard ``submit`` (errors block,
warnings don't). Formats (phones, dates, codes) are already enforced when the content is written.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.core.errors import FieldError
from app.core.i18n import Text
from app.organizations.credit_code import CreditCodeCheck, check_credit_code
from app.reference.data import XPCC_CODE, XPCC_SERVED_PROVINCES
from app.reference.labels import ATTACHMENT_KINDS, labelled


@dataclass(frozen=True, slots=True)
class OrgFacts:
    id: str
    province_code: str
    credit_code: str | None
    credit_code_check_failed: bool
    recommender_kind: str | None


@dataclass
class Report:
    errors: list[FieldError]
    warnings: list[FieldError]

    def error(self, pointer: str, code: str, zh: str, en: str, **params: Any) -> None:
        self.errors.append(FieldError(pointer, code, Text(zh, en), tuple(params.items())))

    def warn(self, pointer: str, code: str, zh: str, en: str, **params: Any) -> None:
        self.warnings.append(FieldError(pointer, code, Text(zh, en), tuple(params.items())))


def find_area(catalogue: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    for field in catalogue:
        for area in field.get("children", []):
            if area["code"] == code:
                found: dict[str, Any] = area
                return found
    return None


def party_list(parties: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(role, organization id, JSON pointer) of every named party, in form order."""
    out: list[tuple[str, str, str]] = []
    if parties.get("undertaking"):
        out.append(("undertaking", parties["undertaking"], "/parties/undertaking"))
    for i, org in enumerate(parties.get("participating") or []):
        out.append(("participating", org, f"/parties/participating/{i}"))
    for role in ("guarantor", "guidance"):
        if parties.get(role):
            out.append((role, parties[role], f"/parties/{role}"))
    return out


def validate_application(
    content: dict[str, Any], call: Any, orgs: dict[str, OrgFacts], missing_attachment_kinds: list[str]
) -> Report:
    report = Report([], [])
    _required_fields(content, report)
    _domain(content.get("domain"), call.catalogue, report)
    _sections(content.get("sections") or {}, call.sections, report)
    _parties(content.get("parties") or {}, orgs, report)
    _recommender(content, orgs, report)
    _period(content.get("period"), report)
    _standards(content.get("standards") or [], report)
    _eligibility(content.get("eligibility") or [], call.conditions, report)
    for kind in missing_attachment_kinds:
        report.error(
            f"/attachments/{kind}",
            "attachment_required",
            "缺少必需的附件：{kind}",
            "A required attachment is missing: {kind}",
            kind=labelled(ATTACHMENT_KINDS, kind),
        )
    return report


_REQUIRED = (
    ("title", "必填：项目名称", "Required: project name"),
    ("domain", "必填：申报领域", "Required: domain"),
    ("recommender_id", "必填：推荐单位", "Required: recommender"),
    ("contact", "必填：联系人", "Required: contact"),
    ("period", "必填：试点期", "Required: pilot period"),
    ("eligibility", "必填：基本条件声明", "Required: eligibility attestations"),
)
_REQUIRED_PARTIES = (
    ("guarantor", "必填：保证单位", "Required: the guarantor unit"),
    ("guidance", "必填：业务指导单位", "Required: the guidance unit"),
)


def _required_fields(content: dict[str, Any], report: Report) -> None:
    for key, zh, en in _REQUIRED:
        if not content.get(key):
            report.error(f"/{key}", "required", zh, en)
    parties = content.get("parties") or {}
    for role, zh, en in _REQUIRED_PARTIES:
        if not parties.get(role):
            report.error(f"/parties/{role}", "required", zh, en)
    if not content.get("funding"):
        report.warn("/funding", "funding_missing", "未填写经费安排", "No funding given")


def _domain(domain: dict[str, Any] | None, catalogue: list[dict[str, Any]], report: Report) -> None:
    if not domain:
        return
    area = find_area(catalogue, domain["area"])
    if area is None:
        report.error(
            "/domain/area",
            "unknown_domain",
            "申报领域代码不在本批次目录中",
            "The domain area is not in the call's catalogue",
        )
        return
    children = {c["code"] for c in area.get("children", [])}
    item, other = domain.get("item"), domain.get("other")
    if item and item not in children:
        report.error(
            "/domain/item", "unknown_domain", "子领域代码不属于所选领域", "The sub-item is not under the chosen area"
        )
    elif other and not area.get("open_ended"):
        report.error(
            "/domain/other", "domain_not_open_ended", "该领域不接受“其他”子领域", "This area takes no 'other' sub-item"
        )
    elif children and not item and not other:
        report.error("/domain/item", "domain_item_required", "该领域须选择子领域", "This area needs a sub-item")


def _sections(sections: dict[str, str], rules: list[dict[str, Any]], report: Report) -> None:
    if sections:
        known = {r["key"] for r in rules}
        for key in sections:
            if key not in known:
                report.error(f"/sections/{key}", "unknown_section", "本批次没有该章节", "The call has no such section")
    for rule in rules:
        text = sections.get(rule["key"])
        # Judged on the stripped text, without copying it unless it may be too long.
        if not text or text.isspace():
            if rule.get("required"):
                report.error(
                    f"/sections/{rule['key']}",
                    "required",
                    "必填章节：{title}",
                    "Required section: {title_en}",
                    title=rule["title"],
                    title_en=rule["title_en"],
                )
        elif len(text) > rule["max_length"] and len(text.strip()) > rule["max_length"]:
            report.error(
                f"/sections/{rule['key']}",
                "too_long",
                "章节超过 {max} 字",
                "The section is longer than {max} characters",
                max=rule["max_length"],
            )


def _party_ids(parties: dict[str, Any]) -> list[str]:
    """The organization ids of ``party_list``, in the same order (without building pointers)."""
    ids = [parties["undertaking"]] if parties.get("undertaking") else []
    ids.extend(parties.get("participating") or ())
    for role in ("guarantor", "guidance"):
        if parties.get(role):
            ids.append(parties[role])
    return ids


def _parties(parties: dict[str, Any], orgs: dict[str, OrgFacts], report: Report) -> None:
    ids = _party_ids(parties)
    if len(set(ids)) == len(ids) and all(
        (facts := orgs.get(org_id)) is not None
        and facts.credit_code
        and not facts.credit_code_check_failed
        and check_credit_code(facts.credit_code) is not CreditCodeCheck.malformed
        for org_id in ids
    ):
        return  # nothing to report: the common case, checked without building pointers
    seen: dict[str, str] = {}
    for _role, org_id, pointer in party_list(parties):
        if org_id in seen:
            report.error(pointer, "duplicate_party", "各方须为不同单位", "Each party must be a different organization")
            continue
        seen[org_id] = pointer
        facts = orgs.get(org_id)
        if facts is None:
            report.error(pointer, "unknown_organization", "单位不存在", "No such organization")
        elif not facts.credit_code or check_credit_code(facts.credit_code) is CreditCodeCheck.malformed:
            report.error(
                pointer,
                "party_credit_code_missing",
                "该单位没有有效的统一社会信用代码",
                "The organization has no valid unified social credit code",
            )
        elif facts.credit_code_check_failed:
            report.warn(
                pointer,
                "credit_code_check_failed",
                "该单位的统一社会信用代码校验位不符（已由管理员登记）",
                "The organization's credit code fails its check character (registered by an admin)",
            )


def _recommender(content: dict[str, Any], orgs: dict[str, OrgFacts], report: Report) -> None:
    recommender_id = content.get("recommender_id")
    undertaking_id = (content.get("parties") or {}).get("undertaking")
    if not recommender_id:
        return
    recommender = orgs.get(recommender_id)
    if recommender is None or recommender.recommender_kind is None:
        report.error(
            "/recommender_id",
            "not_a_recommender",
            "推荐单位须为省级市场监管部门或联席会议成员单位",
            "The recommender must be a provincial bureau or a member unit",
        )
        return
    undertaking = orgs.get(undertaking_id) if undertaking_id else None
    if recommender.recommender_kind == "province" and undertaking is not None:
        serves = XPCC_SERVED_PROVINCES if recommender.province_code == XPCC_CODE else {recommender.province_code}
        if undertaking.province_code not in serves:
            report.error(
                "/recommender_id",
                "recommender_province_mismatch",
                "推荐单位须为承担单位所在省份的市场监管部门",
                "The recommender must be the bureau of the undertaking unit's province",
            )


def _period(period: dict[str, Any] | None, report: Report) -> None:
    if not period:
        return
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    days = (end - start).days
    if days < 365 - 1 or days > 3 * 366:
        report.warn(
            "/period",
            "period_span_unusual",
            "试点期通常为 1–3 年（一般 2 年）",
            "Pilot periods usually span 1–3 years (typically 2)",
        )


def _standards(rows: list[dict[str, Any]], report: Report) -> None:
    if not rows:
        report.warn("/standards", "standards_missing", "未列出标准明细", "No standards listed")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        code = row.get("code")
        if not code and row.get("status") == "existing":
            report.error(
                f"/standards/{i}/code",
                "standard_code_required",
                "已有标准须填写标准编号",
                "An existing standard needs its number",
            )
        if code:
            if code in seen:
                report.warn(
                    f"/standards/{i}/code", "duplicate_standard", "标准编号重复", "The standard is listed twice"
                )
            seen.add(code)


def _eligibility(rows: list[dict[str, Any]], conditions: list[dict[str, Any]], report: Report) -> None:
    numbers = {c["number"] for c in conditions}
    for i, row in enumerate(rows):
        if row["condition"] not in numbers:
            report.error(
                f"/eligibility/{i}/condition",
                "unknown_condition",
                "本批次没有第 {n} 条基本条件",
                "The call has no eligibility condition {n}",
                n=row["condition"],
            )
    if not rows:
        return
    by_number = {r["condition"]: (i, r) for i, r in enumerate(rows)}
    for condition in conditions:
        found = by_number.get(condition["number"])
        if found is None or not found[1].get("attested"):
            pointer = f"/eligibility/{found[0]}/attested" if found else "/eligibility"
            report.error(
                pointer,
                "condition_not_attested",
                "未声明符合基本条件第 {n} 条",
                "Eligibility condition {n} is not attested",
                n=condition["number"],
            )
