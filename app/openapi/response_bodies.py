"""The example bodies of the service's main objects, as the demo's walk leaves them (the demo's call and
units, the applicant's pilot, the list of 山东省市场监督管理局); ``response_examples`` builds on them."""

from app import examples as ex

CREATED, UPDATED = "2026-05-18T02:14:09Z", "2026-06-03T07:41:52Z"
SUBMITTED = "2026-06-12T08:30:15Z"
APPLICATION = {
    "id": ex.APPLICATION,
    "call_id": ex.CALL,
    "title": ex.APPLICATION_CREATE["title"],
    "state": "provincial_review",
    "version": 9,
    "content_digest": ex.DIGEST,
    "undertaking_org_id": ex.UNDERTAKING,
    "province_code": "370000",
    "entered_by_org_id": None,
    **{k: ex.APPLICATION_CREATE[k] for k in ("domain", "recommender_id", "contact", "period", "sections")},
    "parties": {"undertaking": ex.UNDERTAKING, **ex.APPLICATION_CREATE["parties"]},
    **{k: ex.APPLICATION_CREATE[k] for k in ("standards", "funding", "eligibility")},
    "sign_offs": [
        {
            "role": role,
            "organization_id": org,
            "status": "agreed",
            "endorsement_id": f"end_{n}c2e7a90f4b3d18e6a5",
            "mode": "paper" if role == "guidance" else "online",
            "verification": "confirmed" if role == "guidance" else None,
            "recorded_at": f"2026-06-0{n}T03:20:00Z",
        }
        for n, (role, org) in enumerate(
            [
                ("undertaking", ex.UNDERTAKING),
                ("participating", ex.PARTICIPATING),
                ("guarantor", ex.GUARANTOR),
                ("guidance", ex.GUIDANCE),
            ],
            start=4,
        )
    ],
    "allowed_actions": ["recommend", "return", "reject", "withdraw"],
    "outcome_document_number": None,
    "created_at": CREATED,
    "updated_at": UPDATED,
    "submitted_at": "2026-06-01T01:05:33Z",
}
ORGANIZATION = {
    "id": ex.UNDERTAKING,
    "key": "demo-undertaking",
    "name": "济南市历下区行政审批服务局",
    "name_en": None,
    "credit_code": "11370102MB2834561E",
    "credit_code_check_failed": False,
    "province_code": "370000",
    "kind": "government_agency",
    "recommender_kind": None,
    "internal_deadline": None,
    "version": 1,
    "created_at": CREATED,
    "updated_at": CREATED,
}
CALL_SUMMARY = {
    "id": ex.CALL,
    "key": "practice",
    "name": "练习征集批次（演示）",
    "name_en": "Practice call (demo)",
    "notice_number": "演示〔2026〕1号",
    "issue_date": "2026-05-01",
    "deadline": "2026-06-30T23:59:59+08:00",
    "is_practice": True,
    "version": 1,
}
BATCH = {
    "id": ex.BATCH,
    "call_id": ex.CALL,
    "recommender_id": ex.RECOMMENDER,
    "state": "submitted",
    "version": 4,
    "items": [
        {
            "rank": 1,
            "application_id": ex.APPLICATION,
            "title": ex.APPLICATION_CREATE["title"],
            "state": "submitted",
            "domain_area": "1.1",
            "content_digest": ex.DIGEST,
        }
    ],
    "return_comment": None,
    "tracking_number": ex.RECEIPT["tracking_number"],
    "allowed_actions": [],
    "created_at": CREATED,
    "updated_at": SUBMITTED,
    "submitted_at": SUBMITTED,
    "acknowledged_at": None,
}
USER = {
    "id": ex.APPLICANT,
    "username": "demo_applicant",
    "display_name": "王芳",
    "organization_id": ex.UNDERTAKING,
    "roles": ["applicant", "signatory"],
    "is_active": True,
    "email": "wangfang@lixia.gov.cn",
    "email_notifications": True,
    "version": 1,
    "created_at": CREATED,
    "updated_at": CREATED,
}
API_KEY = {
    "id": "key_7d2e91c04fa36b85e1c0",
    "name": "省局业务系统",
    "user_id": ex.REVIEWER,
    "key_hint": "smps_Qx7Tb",
    "created_at": CREATED,
    "last_used_at": UPDATED,
    "revoked_at": None,
}
WEBHOOK = {
    "id": "whk_0e5b3c7a18d94f2e6b7c",
    "url": "https://hooks.example.cn/smps",
    "event_types": ["application.state_changed", "batch.*"],
    "description": "山东省市场监管局业务系统同步",
    "owner_id": ex.REVIEWER,
    "organization_id": ex.RECOMMENDER,
    "created_at": CREATED,
}
EVENT = {
    "id": "evt_4a7f0d2c9e81b356a0f3",
    "type": "application.state_changed",
    "subject_type": "application",
    "subject_id": ex.APPLICATION,
    "occurred_at": "2026-06-07T03:20:00Z",
    "actor_id": None,
    "data": {"action": "all_agreed", "from": "endorsing", "to": "provincial_review"},
    "cursor": "MDAwMDAwMDAwMDAwMDQy",
}
