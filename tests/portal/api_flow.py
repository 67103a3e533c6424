"""Applications brought along over the API (as contract/ts/walk.ts does): one to `provincial_review` with
its guarantor's paper sign-off awaiting verification, one further to `recommended`, so the portal's
reviewer has a paper sign-off to reject and its list has two to rank."""

from pathlib import Path
from typing import Any

import httpx

from app.reference import data


def in_review_over_the_api(url: str, demo: dict[str, Any], scan: Path, page: Path, title: str) -> tuple[str, str]:
    """The application's id and its paper sign-off's endorsement id (verification pending)."""
    keys = {u["username"]: u["api_key"] for u in demo["users"]}
    orgs = demo["organizations"]

    def client(username: str) -> httpx.Client:
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[username]}"}, timeout=60)

    def ok(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    with client("demo_applicant") as applicant:
        body = {
            "call_id": demo["call_id"],
            "title": title,
            "domain": {"area": "1.1", "item": "1.1.3"},
            "recommender_id": demo["recommender_id"],
            "parties": {
                "participating": [orgs["demo-participating"]],
                "guarantor": orgs["demo-guarantor"],
                "guidance": orgs["demo-guidance"],
            },
            "contact": {"name": "王芳", "phone": "13800138000", "email": "wangfang@example.cn"},
            "period": {"start": "2027-01-01", "end": "2028-12-31"},
            "sections": {s["key"]: f"{s['title']}：按试点实施方案推进。" for s in data.SECTIONS_9TH},
            "standards": [
                {
                    "code": "GB/T 32169.1-2015",
                    "title": "政务服务中心运行规范",
                    "level": "national",
                    "status": "existing",
                }
            ],
            "funding": {"amount_cny": 800000, "sources": "区财政专项资金"},
            "eligibility": [{"condition": n, "attested": True} for n in (1, 2, 3, 4)],
        }
        created = applicant.post("/api/v1/applications", json=body)
        app_id = ok(created)["id"]
        path = f"/api/v1/applications/{app_id}"

        def etag() -> str:
            return applicant.get(path).headers["ETag"]

        def upload(kind: str, file: Path) -> str:
            sent = applicant.post(
                f"{path}/attachments",
                data={"kind": kind},
                files={"file": (file.name, file.read_bytes(), "application/pdf")},
                headers={"If-Match": etag()},
            )
            return str(ok(sent)["id"])

        upload("application_form_scan", scan)
        ok(applicant.post(f"{path}/transitions", json={"action": "submit"}, headers={"If-Match": etag()}))
        me = ok(applicant.get("/api/v1/me"))
        for username, role, org in [
            ("demo_applicant", "undertaking", me["organization_id"]),
            ("demo_participating_signatory", "participating", orgs["demo-participating"]),
            ("demo_guidance_signatory", "guidance", orgs["demo-guidance"]),
        ]:
            with client(username) as signatory:
                sign = {"role": role, "organization_id": org, "decision": "agree", "opinion": "同意申报"}
                ok(
                    signatory.post(
                        f"{path}/endorsements",
                        json={**sign, "signatory_name": username, "mode": "online"},
                        headers={"If-Match": etag()},
                    )
                )
        page_id = upload("paper_endorsement", page)
        paper = {"role": "guarantor", "organization_id": orgs["demo-guarantor"], "decision": "agree", "opinion": "同意"}
        endorsement = ok(
            applicant.post(
                f"{path}/endorsements",
                json={**paper, "signatory_name": "张伟", "mode": "paper", "attachment_id": page_id},
                headers={"If-Match": etag()},
            )
        )
        return str(app_id), str(endorsement["id"])


def recommended_over_the_api(url: str, demo: dict[str, Any], scan: Path, page: Path, title: str) -> str:
    app_id, endorsement_id = in_review_over_the_api(url, demo, scan, page, title)
    key = next(u["api_key"] for u in demo["users"] if u["username"] == "demo_reviewer")
    path = f"/api/v1/applications/{app_id}"
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as reviewer:

        def etag() -> str:
            return reviewer.get(path).headers["ETag"]

        def ok(response: httpx.Response) -> None:
            assert response.status_code in (200, 201), response.text

        verdict = {"verdict": "confirmed", "comment": "一致"}
        ok(
            reviewer.post(
                f"{path}/endorsements/{endorsement_id}/verification",
                json=verdict,
                headers={"If-Match": etag()},
            )
        )
        review = {"decision": "recommend", "opinion": "同意推荐"}
        ok(reviewer.post(f"{path}/reviews", json=review, headers={"If-Match": etag()}))
        return app_id
