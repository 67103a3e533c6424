"""Applications whose every field is as long as the schema allows, for the printed form."""

from typing import Any

import httpx
from fastapi import FastAPI

from app.reference.data import CONDITIONS_9TH, SECTIONS_9TH
from tests.applications.cast import Cast, Flow, make_cast
from tests.attachments import files
from tests.factories import make_org, make_user
from tests.tags import etag_of

CODE = "GB/T 32169.1-2015"
NUMBER = "国标委发〔2023〕5号"


def filled(length: int, seed: str) -> str:
    """``length`` characters of Chinese prose in which codes and document numbers fall at every line position."""
    parts, n = [], 0
    while sum(map(len, parts)) < length:
        n += 1
        parts.append(f"{seed}第{n}条" + "按" * (n % 37) + f"依据{CODE}及{NUMBER}（试行）执行。")
    return "".join(parts)[:length]


def longest(seed: str, length: int) -> str:
    """Exactly ``length`` characters ending in a full stop (stripped fields keep their length)."""
    return (seed * length)[: length - 1] + "。"


async def maximal_flow(
    app: FastAPI, client: httpx.AsyncClient, *, paper_role: str = "guarantor"
) -> tuple[Flow, dict[str, Any]]:
    """An application at every limit of the schema, signed off by every party (one on paper) and recommended."""
    cast: Cast = await make_cast(app, client)
    participating = [make_org(app, name=f"{i:02d}" + longest("济南市历下区参加单位", 198)) for i in range(20)]
    body = cast.form(
        title=longest("济南市历下区政务服务标准化试点", 200),
        parties={"participating": participating, "guarantor": cast.guarantor, "guidance": cast.guidance},
        contact={
            "name": longest("王", 50),
            "phone": "0531-88888888-123456",
            "email": "x" * (254 - len("@example.cn")) + "@example.cn",
        },
        sections={s["key"]: filled(s["max_length"], s["title"]) for s in SECTIONS_9TH},
        standards=[
            {
                "code": (f"{CODE}-{i}-" + "9" * 100)[:100],
                "title": longest(f"第{i}项政务服务规范", 200),
                "level": "national",
                "status": "existing",
            }
            for i in range(1000)
        ],
        funding={"amount_cny": 100_000_000_000, "sources": filled(2000, "经费来源")},
        eligibility=[
            {"condition": c["number"], "attested": True, "note": filled(2000, "说明")} for c in CONDITIONS_9TH
        ],
    )
    flow = Flow(client, cast)
    r = await client.post("/api/v1/applications", json=body, headers=cast.applicant.headers)
    assert r.status_code == 201, r.text
    flow.id, flow.etag = r.json()["id"], r.headers["etag"]
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200
    opinions: dict[str, str] = {}
    signers = [
        (cast.undertaking_signatory, "undertaking", cast.undertaking),
        (cast.guarantor_signatory, "guarantor", cast.guarantor),
        (cast.guidance_signatory, "guidance", cast.guidance),
    ]
    signers += [(make_user(app, org, "signatory"), "participating", org) for org in participating]
    for n, (signatory, role, org) in enumerate(signers):
        opinions[org] = longest(f"{n}号单位意见同意申报依据{CODE}", 2000)
        extra: dict[str, Any] = {"signatory_name": longest("张", 100), "signatory_title": longest("局长", 100)}
        if role == paper_role:
            page = await client.post(
                f"/api/v1/applications/{flow.id}/attachments",
                headers={**cast.applicant.headers, "If-Match": await etag_of(client, flow.id, cast.applicant.headers)},
                files={"file": ("盖章页.pdf", files.pdf(pages=1), "application/pdf")},
                data={"kind": "paper_endorsement"},
            )
            assert page.status_code == 201, page.text
            await flow.get(cast.applicant)
            signatory, extra = cast.applicant, {**extra, "mode": "paper", "attachment_id": page.json()["id"]}
        r = await flow.endorse(signatory, role, org, opinion=opinions[org], **extra)
        assert r.status_code == 201, r.text
    opinions[cast.recommender] = longest(f"推荐单位审核意见同意推荐{NUMBER}", 2000)
    r = await flow.review("recommend", opinions[cast.recommender])
    assert r.status_code == 201, r.text
    return flow, opinions
