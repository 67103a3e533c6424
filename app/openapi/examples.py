"""Examples in the document: a realistic body for every JSON request, and a problem of each family.

Ids of the call, the organizations and the users are those `smps demo` creates (the same in every
database); `tests/contract/test_examples.py` checks each example against its schema and sends it to the
service with the test's ids in their place."""

import re
from typing import Any

from app.core.errors import is_json
from app.core.ids import keyed_id
from app.openapi.problem_codes import titles

# The demo's objects (`smps demo`: app/demo.py makes them with these ids in every database).
CALL = keyed_id("call", "practice")  # 练习征集批次（演示）
RECOMMENDER = keyed_id("org", "370000")  # 山东省市场监督管理局, a seeded recommender
UNDERTAKING = keyed_id("org", "demo-undertaking")  # 济南市历下区行政审批服务局
PARTICIPATING = keyed_id("org", "demo-participating")  # 济南市历下区大数据中心
GUARANTOR = keyed_id("org", "demo-guarantor")  # 济南市历下区人民政府
GUIDANCE = keyed_id("org", "demo-guidance")  # 济南市行政审批服务局
OFFICE = keyed_id("org", "office")
APPLICANT, REVIEWER = keyed_id("usr", "demo_applicant"), keyed_id("usr", "demo_reviewer")
GUARANTOR_SIGNATORY, OFFICE_USER = keyed_id("usr", "demo_guarantor_signatory"), keyed_id("usr", "demo_office")
DEMO_IDS = {CALL, RECOMMENDER, UNDERTAKING, PARTICIPATING, GUARANTOR, GUIDANCE, OFFICE, APPLICANT, REVIEWER}
DEMO_IDS |= {GUARANTOR_SIGNATORY, OFFICE_USER}
# What a walk through the demo creates (an application, its files, the list): ids of the same shape.
APPLICATION, PAPER_PAGE = "app_3f9a1c27d84e65b0a1d2", "att_8e41b07c2d95f3a6c1e4"
SCAN, BATCH = "att_1b6d93e0f27ac45d8b31", "bat_5c08e2a91f47d3b6e0a9"

APPLICATION_CREATE: dict[str, Any] = {
    "call_id": CALL,
    "title": "济南市历下区政务服务标准化试点",
    "domain": {"area": "1.1", "item": "1.1.3"},
    "recommender_id": RECOMMENDER,
    "parties": {"participating": [PARTICIPATING], "guarantor": GUARANTOR, "guidance": GUIDANCE},
    "contact": {"name": "王芳", "phone": "0531-86081234", "email": "wangfang@lixia.gov.cn"},
    "period": {"start": "2023-01-01", "end": "2024-12-31"},
    "sections": {
        "basic_situation": "历下区政务服务中心设综合窗口48个，年办件量约60万件。",
        "groundwork": "已实施“一窗受理”，编制政务服务事项标准化工作规范12项。",
        "objectives": "两年内建成覆盖区、街道两级的政务服务标准体系，群众满意率达到98%以上。",
        "main_tasks": "梳理事项清单，制修订窗口服务、网上办事和评价改进标准，开展宣贯与实施评价。",
        "schedule": "2023年上半年完成体系建设，2023年底前完成标准制修订，2024年开展实施与评估。",
        "expected_results": "形成可复制推广的区级政务服务标准化经验。",
        "safeguards": "成立由区政府分管领导任组长的试点工作领导小组，区财政安排专项经费。",
    },
    "standards": [
        {
            "code": "GB/T 32169.1-2015",
            "title": "政务服务中心运行规范 第1部分：基本要求",
            "level": "national",
            "status": "existing",
        },
        {"title": "历下区网上办事服务规范", "level": "local", "status": "to_be_drafted"},
    ],
    "funding": {"amount_cny": 1200000, "sources": "区财政专项经费"},
    "eligibility": [{"condition": n, "attested": True} for n in (1, 2, 3, 4)],
}

DIGEST = "9f2b5c0e7a4d81f36c2e9b0d4a7f15e8c3b6d2a09e4f7c1b5a8d3e6f0c2b9a47"
SCAN_SHA256 = "3c7e1a9f0b5d82e64f1a7c3b9e0d5f28a6c4b1e7d3f9a0c5e2b8d6f4a1c7e3b9"
RECEIPT = {
    "tracking_number": "SMPS-PRACTICE-370000-001",
    "submitted_at": "2026-06-12T08:30:15.204381Z",
    "call_id": CALL,
    "recommender_id": RECOMMENDER,
    "batch_id": BATCH,
    "items": [
        {
            "rank": 1,
            "application_id": APPLICATION,
            "title": "济南市历下区政务服务标准化试点",
            "content_digest": DIGEST,
            "attachments": [{"id": SCAN, "sha256": SCAN_SHA256}],
        }
    ],
    "previous_tracking_number": None,
    "signatures": [
        {
            "kid": "ed25519-4b1f0c9e2a7d35e8",
            "alg": "Ed25519",
            "value": "q3V1Yk9mT2Z0aGVyZWNlaXB0c2lnbmVkYnl0aGVzZXJ2aWNlYWxsc2l4dHlmb3VyYnl0ZXNoZXJlLi4uLi4uLi4uLi4uLg==",
        }
    ],
}

REQUESTS: dict[str, dict[str, tuple[str, Any]]] = {
    "verify_receipt": {"issued": ("A receipt as issued (报送回执), members unchanged", RECEIPT)},
    "create_bulk_upload": {
        "rows": (
            "Rows are bodies of POST /applications; keep the valid ones",
            {"mode": "valid_rows", "rows": [APPLICATION_CREATE]},
        )
    },
    "create_application": {"draft": ("A complete draft (申请书)", APPLICATION_CREATE)},
    "update_application": {
        "contact": (
            "Change the contact and the funding (merge patch)",
            {
                "contact": {"name": "赵磊", "phone": "13905310000", "email": "zhaolei@lixia.gov.cn"},
                "funding": {"amount_cny": 1500000, "sources": "区财政专项经费、市级补助"},
            },
        )
    },
    "transition_application": {
        "submit": ("Submit for sign-off", {"action": "submit"}),
        "withdraw": ("Withdraw the application", {"action": "withdraw", "comment": "因机构调整，本年度暂不申报。"}),
    },
    "create_endorsement": {
        "online": (
            "A signatory of the guarantor agrees online",
            {
                "role": "guarantor",
                "organization_id": GUARANTOR,
                "decision": "agree",
                "mode": "online",
                "opinion": "同意申报，区政府将在经费和人员上给予保障。",
                "signatory_name": "李明",
                "signatory_title": "副区长",
            },
        ),
        "paper": (
            "The applicant records the guidance unit's stamped page",
            {
                "role": "guidance",
                "organization_id": GUIDANCE,
                "decision": "agree",
                "mode": "paper",
                "opinion": "同意推荐。",
                "signatory_name": "陈静",
                "signatory_title": "处长",
                "attachment_id": PAPER_PAGE,
            },
        ),
    },
    "verify_paper_endorsement": {
        "confirmed": (
            "The reviewer confirms the paper sign-off",
            {"verdict": "confirmed", "comment": "签章页与原件核对一致。"},
        )
    },
    "create_review": {
        "recommend": ("Recommend (推荐)", {"decision": "recommend", "opinion": "材料齐全，基础扎实，同意推荐。"}),
        "return": (
            "Return for changes (退回修改)",
            {"decision": "return", "opinion": "请补充试点经费的具体来源和使用计划。"},
        ),
    },
    "record_outcome": {
        "approve": (
            "Approved with the 下达 document",
            {"decision": "approve", "document_number": "国标委发〔2023〕5号"},
        ),
        "not_approve": ("Not approved", {"decision": "not_approve"}),
    },
    "create_batch": {"open": ("Open the recommended list of a call", {"call_id": CALL})},
    "set_batch_items": {"ranked": ("The whole ranked list", {"items": [{"application_id": APPLICATION, "rank": 1}]})},
    "transition_batch": {
        "submit": ("The recommender submits the list", {"action": "submit"}),
        "return": (
            "The office returns it (退回)",
            {"action": "return", "comment": "推荐名单排序有误，请核实后重新报送。"},
        ),
    },
    "update_call": {
        "extend": (
            "Extend the deadline",
            {"deadline": "2099-06-30T17:00:00+08:00", "reason": "部分地区受汛期影响，截止时间顺延。"},
        )
    },
    "create_call": {
        "tenth": (
            "A new call copying the ninth's catalogue",
            {
                "key": "10th-batch",
                "name": "第十批社会管理和公共服务综合标准化试点",
                "name_en": "10th batch of pilots",
                "notice_number": "国标委办发〔2099〕1号",
                "issue_date": "2099-03-01",
                "deadline": "2099-06-30T17:00:00+08:00",
                "copy_from_call_id": CALL,
                "quota_per_recommender": 5,
            },
        )
    },
    "create_organization": {
        "unit": (
            "A participating unit with its credit code",
            {
                "name": "济南市历下区文化和旅游局",
                "credit_code": "11370102MB2851290P",
                "province_code": "370000",
                "kind": "government_agency",
            },
        )
    },
    "update_organization": {
        "deadline": ("A recommender's own cut-off", {"internal_deadline": "2099-06-15T17:00:00+08:00"})
    },
    "create_user": {
        "applicant": (
            "An applicant of a unit",
            {
                "username": "lixia_wangfang",
                "display_name": "王芳",
                "organization_id": UNDERTAKING,
                "roles": ["applicant"],
                "password": "Lixia-2023-政务服务",
            },
        )
    },
    "update_user": {"roles": ("Add the signatory role", {"roles": ["applicant", "signatory"]})},
    "create_api_key": {"system": ("A key for the province's business system", {"name": "省局业务系统"})},
    "create_webhook": {
        "sync": (
            "The province's business system follows states and lists",
            {
                "url": "https://hooks.example.cn/smps",
                "event_types": ["application.state_changed", "batch.*"],
                "description": "山东省市场监管局业务系统同步",
            },
        )
    },
}

# Members beyond `type`, `title`, `status`, `code` that a problem of each code carries (an example of each).
_FIELD_ERROR = {"code": "required", "message": "必填字段缺失"}
PROBLEM_MEMBERS: dict[str, dict[str, Any]] = {
    "not_authenticated": {"detail": "缺少或无效的访问令牌"},
    "invalid_credentials": {"detail": "用户名或密码错误"},
    "forbidden": {"required_roles": ["reviewer"]},
    "invalid_state_transition": {
        "detail": "“submit”不适用于当前状态 provincial_review",
        "state": "provincial_review",
    },
    "invalid_state": {"detail": "申请书已冻结，不能修改", "state": "endorsing"},
    "deadline_passed": {"deadline": "2023-06-30T17:00:00+08:00"},
    "precondition_failed": {"title": "资源已被修改（If-Match 不匹配）", "current_etag": '"7"'},
    "precondition_required": {"detail": "此操作需要 If-Match 请求头（资源的 ETag）"},
    "payload_too_large": {"max_bytes": 52428800},
    "unsupported_media_type": {"reason": "type_mismatch", "allowed_types": ["pdf", "ofd", "jpeg", "png"]},
    "quota_exceeded": {"quota": 5},
    "attachment_limit_reached": {"kind": "application_form_scan", "max_count": 3},
    "application_invalid": {
        "errors": [{"pointer": "/sections/objectives", "code": "required", "message": "必填字段缺失"}]
    },
    "idempotency_key_reused": {"detail": "同一 Idempotency-Key 已用于内容不同的请求"},
}


def _field_error(operation: dict[str, Any]) -> dict[str, Any]:
    """A field error of this operation: a required member of its JSON body, else its first parameter."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        first: dict[str, Any] = next(iter(body.get("examples", {}).values()), {})
        example = first.get("value")
        member = next(iter(example), None) if isinstance(example, dict) and example else None
        if member is not None:
            return {"pointer": f"/{member}", **_FIELD_ERROR}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            return {"pointer": f"query:/{parameter['name']}", "code": "invalid_format", "message": "格式不正确"}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            return {"pointer": f"path:/{parameter['name']}", "code": "too_long", "message": "长度超过上限 32"}
    return {"pointer": "/", **_FIELD_ERROR}


def problem_example(operation: dict[str, Any], status: str, code: str) -> dict[str, Any]:
    """A problem of ``code`` as ``operation`` answers it (Chinese, as a client asking `zh-CN` reads it)."""
    members = dict(PROBLEM_MEMBERS.get(code, {}))
    if code == "validation_failed" or (code in ("duplicate", "unknown_columns") and "errors" not in members):
        members["errors"] = [_field_error(operation)]
    return {
        "type": f"urn:smps:problem:{code}",
        "title": titles().get(code, code),
        "status": int(status),
        "code": code,
        **members,
        "request_id": "req_5f2c9a7e1b3d4c60",
    }


def declared_codes(response: dict[str, Any]) -> list[str]:
    """The codes a problem response declares, in its description's order (`a, b` or `` `a`: …; `b`: … ``)."""
    text = response.get("description", "")
    quoted = re.findall(r"`([a-z_]+)`:", text)
    return quoted or [c.strip() for c in text.split(",") if re.fullmatch(r"[a-z_]+", c.strip())]


# Bodies that are not JSON: a form or a multipart upload (a file's bytes stand in as a short text).
FORMS: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {
    ("create_token", "application/x-www-form-urlencoded"): {
        "password": (
            "The demo applicant signs in",
            {"grant_type": "password", "username": "demo_applicant", "password": "demo-password-2026"},
        )
    },
    ("revoke_token", "application/x-www-form-urlencoded"): {
        "sign_out": (
            "A browser signs out: the bearer token it holds ends at once",
            {"token": "<the access_token of POST /auth/token>", "token_type_hint": "access_token"},
        )
    },
    ("upload_attachment", "multipart/form-data"): {
        "scan": (
            "The stamped form scan (申请书盖章扫描件)",
            {"kind": "application_form_scan", "description": "申请书盖章页扫描件", "file": "%PDF-1.7 …"},
        )
    },
    ("create_bulk_upload", "multipart/form-data"): {
        "xlsx": ("A filled-in template, keeping the valid rows", {"mode": "valid_rows", "file": "PK… (XLSX)"})
    },
}


def add_examples(operation: dict[str, Any]) -> None:
    op_id = operation.get("operationId", "")
    for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
        # JSON bodies (application/json, or a merge patch's application/merge-patch+json); forms and multipart.
        examples = REQUESTS.get(op_id) if is_json(media_type) else FORMS.get((op_id, media_type))
        if examples:
            content["examples"] = {
                name: {"summary": summary, "value": value} for name, (summary, value) in examples.items()
            }
    for status, response in operation["responses"].items():
        problem = response.get("content", {}).get("application/problem+json")
        if problem is None:
            continue
        problem["examples"] = {
            code: {"summary": f"`{code}`", "value": problem_example(operation, status, code)}
            for code in declared_codes(response)
        }
