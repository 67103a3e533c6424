"""The people and organizations of an application's flow, and a complete valid form."""

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import Actor
from tests.factories import make_org, make_user, seeded_org

# A one-page PDF, small enough to inline: what a scanned form looks like to the type checks.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n"
)


@dataclass
class Cast:
    call_id: str
    undertaking: str
    participating: str
    guarantor: str
    guidance: str
    recommender: str
    applicant: Actor
    undertaking_signatory: Actor
    participating_signatory: Actor
    guarantor_signatory: Actor
    guidance_signatory: Actor
    reviewer: Actor
    other_reviewer: Actor
    stranger: Actor
    stranger_signatory: Actor
    office: Actor
    admin: Actor

    def form(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "call_id": self.call_id,
            "title": "济南市历下区政务服务标准化试点",
            "domain": {"area": "1.1", "item": "1.1.3"},
            "recommender_id": self.recommender,
            "parties": {"participating": [self.participating], "guarantor": self.guarantor, "guidance": self.guidance},
            "contact": {"name": "王芳", "phone": "13800138000", "email": "wangfang@example.cn"},
            "period": {"start": "2023-01-01", "end": "2024-12-31"},
            "sections": {
                k: f"{k} 的内容。"
                for k in (
                    "basic_situation",
                    "groundwork",
                    "objectives",
                    "main_tasks",
                    "schedule",
                    "expected_results",
                    "safeguards",
                )
            },
            "standards": [
                {
                    "code": "GB/T 32169.1-2015",
                    "title": "政务服务中心运行规范 第1部分：基本要求",
                    "level": "national",
                    "status": "existing",
                },
                {"code": None, "title": "网上办事服务规范", "level": "local", "status": "to_be_drafted"},
            ],
            "funding": {"amount_cny": 1200000, "sources": "区财政"},
            "eligibility": [{"condition": n, "attested": True} for n in (1, 2, 3, 4)],
        }
        body.update(overrides)
        return body


async def ninth_call_id(client: httpx.AsyncClient) -> str:
    calls = (await client.get("/api/v1/calls")).json()
    return next(c["id"] for c in calls if c["key"] == "9th-batch")


async def make_cast(app: FastAPI, client: httpx.AsyncClient) -> Cast:
    undertaking = make_org(app, name="济南市历下区行政审批服务局")
    participating = make_org(app, name="济南市历下区大数据中心", kind="public_institution")
    guarantor = make_org(app, name="济南市历下区人民政府")
    guidance = make_org(app, name="济南市行政审批服务局", area="370100")
    stranger_org = make_org(app, name="青岛市市北区人民政府", area="370203")
    recommender = seeded_org(app, "370000")
    return Cast(
        call_id=await ninth_call_id(client),
        undertaking=undertaking,
        participating=participating,
        guarantor=guarantor,
        guidance=guidance,
        recommender=recommender,
        applicant=make_user(app, undertaking, "applicant"),
        undertaking_signatory=make_user(app, undertaking, "signatory"),
        participating_signatory=make_user(app, participating, "signatory"),
        guarantor_signatory=make_user(app, guarantor, "signatory"),
        guidance_signatory=make_user(app, guidance, "signatory"),
        reviewer=make_user(app, recommender, "reviewer"),
        other_reviewer=make_user(app, seeded_org(app, "110000"), "reviewer"),
        stranger=make_user(app, stranger_org, "applicant"),
        stranger_signatory=make_user(app, stranger_org, "signatory"),
        office=make_user(app, seeded_org(app, "office"), "office"),
        admin=make_user(app, seeded_org(app, "office"), "admin"),
    )


class Flow:
    """Drives one application through the API as the roles would."""

    def __init__(self, client: httpx.AsyncClient, cast: Cast) -> None:
        self.client, self.cast = client, cast
        self.id = ""
        self.etag = ""

    async def create(self, **overrides: Any) -> dict[str, Any]:
        r = await self.client.post(
            "/api/v1/applications", json=self.cast.form(**overrides), headers=self.cast.applicant.headers
        )
        assert r.status_code == 201, r.text
        self.id, self.etag = r.json()["id"], r.headers["etag"]
        return r.json()

    async def get(self, actor: Actor) -> httpx.Response:
        r = await self.client.get(f"/api/v1/applications/{self.id}", headers=actor.headers)
        if r.status_code == 200:
            self.etag = r.headers["etag"]
        return r

    async def attach_scan(self) -> str:
        await self.get(self.cast.applicant)  # the ETag last read (a test may have changed it meanwhile)
        r = await self.client.post(
            f"/api/v1/applications/{self.id}/attachments",
            headers={**self.cast.applicant.headers, "If-Match": self.etag},
            files={"file": ("申请书扫描件.pdf", MINIMAL_PDF, "application/pdf")},
            data={"kind": "application_form_scan"},
        )
        assert r.status_code == 201, r.text
        await self.get(self.cast.applicant)
        assert r.headers["application-etag"] == self.etag  # what the uploader's next GET says
        return r.json()["id"]

    async def post(self, path: str, actor: Actor, body: dict[str, Any], etag: str | None = None) -> httpx.Response:
        headers = {**actor.headers, "If-Match": etag or self.etag}
        r = await self.client.post(f"/api/v1/applications/{self.id}{path}", json=body, headers=headers)
        if r.status_code < 300 and "etag" in r.headers:
            self.etag = r.headers["etag"]
        return r

    async def act(self, action: str, actor: Actor | None = None, comment: str | None = None) -> httpx.Response:
        return await self.post("/transitions", actor or self.cast.applicant, {"action": action, "comment": comment})

    async def endorse(
        self, signatory: Actor, role: str, org: str, decision: str = "agree", **extra: Any
    ) -> httpx.Response:
        body = {
            "role": role,
            "organization_id": org,
            "decision": decision,
            "opinion": "同意申报" if decision == "agree" else "不同意",
            "signatory_name": "张伟",
            "signatory_title": "局长",
            **extra,
        }
        return await self.post("/endorsements", signatory, body)

    async def endorse_all(self) -> None:
        c = self.cast
        for signatory, role, org in (
            (c.undertaking_signatory, "undertaking", c.undertaking),
            (c.participating_signatory, "participating", c.participating),
            (c.guarantor_signatory, "guarantor", c.guarantor),
            (c.guidance_signatory, "guidance", c.guidance),
        ):
            r = await self.endorse(signatory, role, org)
            assert r.status_code == 201, r.text

    async def review(self, decision: str, opinion: str | None = None, actor: Actor | None = None) -> httpx.Response:
        return await self.post("/reviews", actor or self.cast.reviewer, {"decision": decision, "opinion": opinion})

    async def to_review(self) -> None:
        """Create, attach the scan, submit, and have every party agree."""
        await self.create()
        await self.attach_scan()
        r = await self.act("submit")
        assert r.status_code == 200, r.text
        await self.endorse_all()
