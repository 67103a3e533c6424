"""Examples of what the service answers: one realistic body per response schema, following the walk the
request examples take (the demo's call and units, the applicant's pilot, the list of 山东省市场监督管理局).

Keyed by component name; a page (`Page_X_`) or an array of `X` is built from `X`'s example. Each is
checked against its schema by `tests/contract/test_examples.py`."""

from typing import Any

from app import examples as ex
from app.openapi.response_bodies import (
    API_KEY,
    APPLICATION,
    BATCH,
    CALL_SUMMARY,
    CREATED,
    EVENT,
    ORGANIZATION,
    SUBMITTED,
    UPDATED,
    USER,
    WEBHOOK,
)

RESPONSES: dict[str, Any] = {
    "ServiceIndex": {
        "name": "smps",
        "version": "1.0.0",
        "description": "社会管理和公共服务综合标准化试点申报 — standardization pilot submissions",
        "links": {
            "docs": "/docs",
            "redoc": "/redoc",
            "openapi": "/openapi.json",
            "health": "/healthz",
            "readiness": "/readyz",
            "api": "/api/v1",
        },
    },
    "ApiKeyPublic": API_KEY,
    "ApiKeyCreated": {**API_KEY, "key": "smps_Qx7Tb2kLmV9pR4sWd8YfHn3JcA6eZu0G"},
    "ApplicationPublic": APPLICATION,
    "ApplicationSummary": {
        **{k: APPLICATION[k] for k in ("id", "call_id", "title", "state", "version", "undertaking_org_id")},
        **{k: APPLICATION[k] for k in ("recommender_id", "province_code", "content_digest", "created_at")},
        "domain_area": "1.1",
        "updated_at": UPDATED,
    },
    "AttachmentPublic": {
        "id": ex.SCAN,
        "application_id": ex.APPLICATION,
        "kind": "application_form_scan",
        "filename": "历下区政务服务标准化试点申请书（盖章）.pdf",
        "description": "申请书盖章页扫描件",
        "file_type": "pdf",
        "media_type": "application/pdf",
        "size": 1843207,
        "sha256": ex.SCAN_SHA256,
        "uploaded_by": ex.APPLICANT,
        "created_at": CREATED,
    },
    "EndorsementPublic": {
        "id": "end_6c2e7a90f4b3d18e6a5",
        "party_role": "guarantor",
        "organization_id": ex.GUARANTOR,
        "decision": "agree",
        "opinion": "同意申报，区政府将在经费和人员上给予保障。",
        "signatory_name": "李明",
        "signatory_title": "副区长",
        "mode": "online",
        "attachment_id": None,
        "verification": None,
        "verification_comment": None,
        "content_digest": ex.DIGEST,
        "recorded_by": ex.GUARANTOR_SIGNATORY,
        "recorded_at": "2026-06-06T03:20:00Z",
        "voided": False,
    },
    "ReviewPublic": {
        "id": "rev_2f8a6d0c3e91b74a5d26",
        "decision": "recommend",
        "opinion": "材料齐全，基础扎实，同意推荐。",
        "reviewer_id": ex.REVIEWER,
        "recommender_id": ex.RECOMMENDER,
        "content_digest": ex.DIGEST,
        "recorded_at": "2026-06-09T06:12:40Z",
    },
    "TransitionPublic": {
        "id": "trn_9b1e4c7a20d58f63e1b4",
        "action": "submit",
        "from_state": "draft",
        "to_state": "endorsing",
        "actor_id": ex.APPLICANT,
        "comment": None,
        "at": "2026-06-01T01:05:33Z",
    },
    "ValidationReport": {
        "valid": False,
        "errors": [{"code": "required", "pointer": "/sections/objectives", "message": "必填字段缺失"}],
        "warnings": [{"code": "funding_missing", "pointer": "/funding", "message": "未填写经费安排"}],
    },
    "TokenResponse": {
        "access_token": "smpt_Vb3nK8qR2xLw7YdT5mZc9HfJ4sPa6eGu",
        "token_type": "bearer",
        "expires_in": 28800,
        "expires_at": "2026-06-03T15:41:52Z",
    },
    "BatchPublic": BATCH,
    "BatchSummary": {
        **{k: BATCH[k] for k in ("id", "call_id", "recommender_id", "state", "version", "created_at")},
        **{k: BATCH[k] for k in ("updated_at", "submitted_at", "tracking_number")},
        "item_count": 1,
    },
    "BatchTransitionPublic": {
        "id": "btr_3d7c0a9e51f84b26c0d7",
        "action": "submit",
        "from_state": "open",
        "to_state": "submitted",
        "actor_id": ex.REVIEWER,
        "comment": None,
        "at": SUBMITTED,
    },
    "ReceiptPublic": ex.RECEIPT,
    "BulkUploadPublic": {
        "id": "blk_5e9a2c1f70b3d846e2a9",
        "state": "finished",
        "mode": "valid_rows",
        "source": "json",
        "total_rows": 2,
        "processed_rows": 2,
        "created_count": 1,
        "error_count": 1,
        "omitted_error_count": 0,
        "failure": None,
        "results": [
            {"row": 0, "line": None, "status": "created", "application_id": ex.APPLICATION, "errors": None},
            {
                "row": 1,
                "line": None,
                "status": "invalid",
                "application_id": None,
                "errors": [
                    {
                        "pointer": "/rows/1/contact/phone",
                        "column": "contact_phone",
                        "header": None,
                        "code": "invalid_phone",
                        "message": "电话号码格式不正确（手机 1[3-9] 开头 11 位，座机区号-号码，或 400/800 热线）",
                    }
                ],
            },
        ],
        "uploaded_by": ex.APPLICANT,
        "organization_id": ex.UNDERTAKING,
        "created_at": CREATED,
        "updated_at": CREATED,
        "finished_at": CREATED,
    },
    "CallSummary": CALL_SUMMARY,
    "CallPublic": {
        **CALL_SUMMARY,
        "catalogue": [
            {
                "code": "1.1",
                "name": "政务服务",
                "name_en": "Government services",
                "open_ended": False,
                "children": [{"code": "1.1.3", "name": "政务服务中心", "name_en": "Service centres", "children": []}],
            }
        ],
        "conditions": [{"number": 1, "text": "试点项目应具有典型性和示范性。", "text_en": "Typical and exemplary."}],
        "sections": [
            {
                "key": "basic_situation",
                "title": "基本情况",
                "title_en": "Basic situation",
                "required": True,
                "max_length": 5000,
            }
        ],
        "attachment_rules": {"application_form_scan": {"required": True, "max_count": 3, "types": None}},
        "contact": {
            "unit": "市场监管总局标准技术司",
            "persons": ["董艳", "王斌"],
            "phones": ["010-82262635"],
            "fax": None,
            "address": "北京市东城区安定门外大街56号",
            "postcode": "100011",
            "electronic_route": "市场监管总局公文交换系统",
        },
        "quota_per_recommender": 5,
        "created_at": CREATED,
        "updated_at": CREATED,
    },
    "CallSubmissionSummary": {
        "call_id": ex.CALL,
        "names": {"1": "行政管理和服务", "1.1": "政务服务"},
        "recommenders": [
            {
                "recommender_id": ex.RECOMMENDER,
                "name": "山东省市场监督管理局",
                "key": "370000",
                "recommender_kind": "province",
                "batch_id": ex.BATCH,
                "state": "submitted",
                "item_count": 1,
                "acknowledged": False,
                "by_field": {"1": 1},
                "by_area": {"1.1": 1},
                "outcomes": {"pending": 1},
                "tracking_number": ex.RECEIPT["tracking_number"],
                "submitted_at": SUBMITTED,
            }
        ],
        "totals": {
            "recommenders": 1,
            "by_state": {"submitted": 1},
            "items": 1,
            "by_field": {"1": 1},
            "by_area": {"1.1": 1},
        },
    },
    "EventPage": {"items": [EVENT], "next_cursor": EVENT["cursor"], "has_more": False},
    "MePublic": {
        **{k: USER[k] for k in ("id", "username", "display_name", "organization_id", "roles")},
        "organization_name": "济南市历下区行政审批服务局",
        "province_code": "370000",
        "recommender_kind": None,
        "authenticated_with": "api_key",
        "email": "wangfang@lixia.gov.cn",
        "email_notifications": True,
        "version": 1,
    },
    "OrganizationPublic": ORGANIZATION,
    "ProvincePublic": {
        "code": "370000",
        "name": "山东省",
        "name_en": "Shandong",
        "recommender_id": ex.RECOMMENDER,
        "recommender_name": "山东省市场监督管理局",
    },
    "ReceiptKeys": {
        "keys": [
            {
                "kid": "ed25519-4b1f0c9e2a7d35e8",
                "alg": "Ed25519",
                "public_key_pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
                "-----END PUBLIC KEY-----\n",
                "created_at": "2026-01-05T00:00:00Z",
                "retired_at": None,
            }
        ]
    },
    "VerifyResult": {"valid": True, "reason": "valid"},
    "UserPublic": USER,
    "WebhookPublic": WEBHOOK,
    "WebhookCreated": {**WEBHOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "WebhookDeliveryPublic": {
        "id": "msg_8c4f1e0a7b29d365c4f8",
        "event_id": EVENT["id"],
        "event_type": EVENT["type"],
        "state": "succeeded",
        "attempt_count": 1,
        "next_attempt_at": None,
        "last_error": None,
        "created_at": "2026-06-07T03:20:01Z",
        "last_attempt_at": "2026-06-07T03:20:02Z",
        "completed_at": "2026-06-07T03:20:02Z",
        "attempts": [
            {
                "number": 1,
                "started_at": "2026-06-07T03:20:02Z",
                "finished_at": "2026-06-07T03:20:02Z",
                "outcome": "succeeded",
                "error": None,
            }
        ],
    },
}
# Responses whose schema is not a component: by operation.
OPERATIONS: dict[str, Any] = {
    "get_health": {"status": "ok", "version": "1.0.0"},
    "get_readiness": {
        "status": "ready",
        "fonts": {
            "available": True,
            "body": [{"family": "AR PL UMing CN", "file": "/usr/share/fonts/truetype/arphic/uming.ttc"}],
            "title": [{"family": "WenQuanYi Micro Hei", "file": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"}],
            "covers_printed": True,
            "missing": [],
            "recommended": True,
        },
    },
}


def example_of(schema: dict[str, Any]) -> Any:
    """The example for a response schema: a component's, a page or an array of one; None if there is none."""
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    if name in RESPONSES:
        return RESPONSES[name]
    if name.startswith("Page_") and name[5:-1] in RESPONSES:
        return {"items": [RESPONSES[name[5:-1]]], "next_page_token": None}
    if schema.get("type") == "array":
        item = example_of(schema.get("items", {}))
        return None if item is None else [item]
    return None


def add_response_examples(operation: dict[str, Any]) -> None:
    for status, response in operation["responses"].items():
        media = response.get("content", {}).get("application/json")
        if not status.startswith("2") or media is None or "example" in media:
            continue
        example = OPERATIONS.get(operation.get("operationId", "")) or example_of(media.get("schema", {}))
        if example is not None:
            media["example"] = example
