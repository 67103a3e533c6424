"""Examples in the document: a realistic body for every JSON request, and a problem of each family.

Ids in the examples are readable stand-ins (`call_9th_batch`…); `tests/contract/test_examples.py` checks
each example against its schema and sends it to the service with real ids in their place."""

from typing import Any

from app.core.errors import json_content

CALL, RECOMMENDER, APPLICATION = "call_9th_batch", "org_shandong_amr", "app_lixia_pilot"
UNDERTAKING, PARTICIPATING = "org_lixia_approval", "org_lixia_bigdata"
GUARANTOR, GUIDANCE, PAPER_PAGE = "org_lixia_government", "org_jinan_approval", "att_guidance_page"

APPLICATION_CREATE = {
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

REQUESTS: dict[str, dict[str, tuple[str, Any]]] = {
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

PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "401": ("not_authenticated", {"title": "未认证", "detail": "缺少或无效的访问令牌"}),
    "403": ("forbidden", {"title": "无权执行此操作", "required_roles": ["reviewer"]}),
    "404": ("not_found", {"title": "资源不存在"}),
    "409": (
        "invalid_state_transition",
        {
            "title": "当前状态不允许该流转",
            "detail": "“submit”不适用于当前状态 provincial_review",
            "state": "provincial_review",
        },
    ),
    "412": ("precondition_failed", {"title": "资源已被修改（If-Match 不匹配）", "current_etag": '"7"'}),
    "422": (
        "validation_failed",
        {
            "title": "请求参数校验失败",
            "errors": [
                {
                    "pointer": "/contact/phone",
                    "code": "invalid_phone",
                    "message": "电话号码格式不正确（手机 1[3-9] 开头 11 位，座机区号-号码，或 400/800 热线）",
                }
            ],
        },
    ),
    "428": (
        "precondition_required",
        {"title": "缺少 If-Match 请求头", "detail": "此操作需要 If-Match 请求头（资源的 ETag）"},
    ),
}


def problem_example(status: str) -> dict[str, Any] | None:
    if status not in PROBLEMS:
        return None
    code, members = PROBLEMS[status]
    return {
        "type": f"urn:smps:problem:{code}",
        "status": int(status),
        "code": code,
        **members,
        "request_id": "req_5f2c9a7e1b3d4c60",
    }


def add_examples(operation: dict[str, Any]) -> None:
    examples = REQUESTS.get(operation.get("operationId", ""))
    content = json_content(operation.get("requestBody", {}).get("content", {}))
    if examples and content is not None:
        content["examples"] = {
            name: {"summary": summary, "value": value} for name, (summary, value) in examples.items()
        }
    for status, response in operation["responses"].items():
        problem = response.get("content", {}).get("application/problem+json")
        example = problem_example(status)
        if problem is not None and example is not None:
            problem["example"] = example
