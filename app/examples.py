"""Example request bodies, one constant for each operation that takes a body: each route declares its
own (``facts(examples=...)``, app.core.route_facts) and the document shows them.

Ids of the call, the organizations and the users are those `smps demo` creates (the same in every
database); `tests/contract/test_examples.py` checks each example against its schema and sends it to the
service with the test's ids in their place."""

from typing import Any

from app.core.ids import keyed_id
from app.core.route_facts import Examples

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


VERIFY_RECEIPT: Examples = {"issued": ("A receipt as issued (报送回执), members unchanged", RECEIPT)}

CREATE_BULK_UPLOAD: Examples = {
    "rows": (
        "Rows are bodies of POST /applications; keep the valid ones",
        {"mode": "valid_rows", "rows": [APPLICATION_CREATE]},
    )
}

CREATE_APPLICATION: Examples = {"draft": ("A complete draft (申请书)", APPLICATION_CREATE)}

UPDATE_APPLICATION: Examples = {
    "contact": (
        "Change the contact and the funding (merge patch)",
        {
            "contact": {"name": "赵磊", "phone": "13905310000", "email": "zhaolei@lixia.gov.cn"},
            "funding": {"amount_cny": 1500000, "sources": "区财政专项经费、市级补助"},
        },
    )
}

TRANSITION_APPLICATION: Examples = {
    "submit": ("Submit for sign-off", {"action": "submit"}),
    "withdraw": ("Withdraw the application", {"action": "withdraw", "comment": "因机构调整，本年度暂不申报。"}),
}

CREATE_ENDORSEMENT: Examples = {
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
}

VERIFY_PAPER_ENDORSEMENT: Examples = {
    "confirmed": (
        "The reviewer confirms the paper sign-off",
        {"verdict": "confirmed", "comment": "签章页与原件核对一致。"},
    )
}

CREATE_REVIEW: Examples = {
    "recommend": ("Recommend (推荐)", {"decision": "recommend", "opinion": "材料齐全，基础扎实，同意推荐。"}),
    "return": (
        "Return for changes (退回修改)",
        {"decision": "return", "opinion": "请补充试点经费的具体来源和使用计划。"},
    ),
}

RECORD_OUTCOME: Examples = {
    "approve": (
        "Approved with the 下达 document",
        {"decision": "approve", "document_number": "国标委发〔2023〕5号"},
    ),
    "not_approve": ("Not approved", {"decision": "not_approve"}),
}

CREATE_BATCH: Examples = {"open": ("Open the recommended list of a call", {"call_id": CALL})}

SET_BATCH_ITEMS: Examples = {
    "ranked": ("The whole ranked list", {"items": [{"application_id": APPLICATION, "rank": 1}]})
}

TRANSITION_BATCH: Examples = {
    "submit": ("The recommender submits the list", {"action": "submit"}),
    "return": (
        "The office returns it (退回)",
        {"action": "return", "comment": "推荐名单排序有误，请核实后重新报送。"},
    ),
}

UPDATE_CALL: Examples = {
    "extend": (
        "Extend the deadline",
        {"deadline": "2099-06-30T17:00:00+08:00", "reason": "部分地区受汛期影响，截止时间顺延。"},
    )
}

CREATE_CALL: Examples = {
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
}

CREATE_ORGANIZATION: Examples = {
    "unit": (
        "A participating unit with its credit code",
        {
            "name": "济南市历下区文化和旅游局",
            "credit_code": "11370102MB2851290P",
            "province_code": "370000",
            "kind": "government_agency",
        },
    )
}

UPDATE_ORGANIZATION: Examples = {
    "deadline": ("A recommender's own cut-off", {"internal_deadline": "2099-06-15T17:00:00+08:00"})
}

CREATE_USER: Examples = {
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
}

UPDATE_USER: Examples = {"roles": ("Add the signatory role", {"roles": ["applicant", "signatory"]})}

CREATE_API_KEY: Examples = {"system": ("A key for the province's business system", {"name": "省局业务系统"})}

CREATE_WEBHOOK: Examples = {
    "sync": (
        "The province's business system follows states and lists",
        {
            "url": "https://hooks.example.cn/smps",
            "event_types": ["application.state_changed", "batch.*"],
            "description": "山东省市场监管局业务系统同步",
        },
    )
}

CREATE_TOKEN_FORM: Examples = {
    "password": (
        "The demo applicant signs in",
        {"grant_type": "password", "username": "demo_applicant", "password": "demo-password-2026"},
    )
}

REVOKE_TOKEN_FORM: Examples = {
    "sign_out": (
        "A browser signs out: the bearer token it holds ends at once",
        {"token": "<the access_token of POST /auth/token>", "token_type_hint": "access_token"},
    )
}

UPLOAD_ATTACHMENT_MULTIPART: Examples = {
    "scan": (
        "The stamped form scan (申请书盖章扫描件)",
        {"kind": "application_form_scan", "description": "申请书盖章页扫描件", "file": "%PDF-1.7 …"},
    )
}

CREATE_BULK_UPLOAD_MULTIPART: Examples = {
    "xlsx": ("A filled-in template, keeping the valid rows", {"mode": "valid_rows", "file": "PK… (XLSX)"})
}
