"""Every API endpoint × every caller (own and other organization or province) → the expected status.

The table below is the contract of docs/roles.md: 401 without credentials, 404 for
what the caller may not see, 403 for what it sees but may not do, 2xx where it is allowed. The routes come
from the app's route table, so a new route without an entry fails ``test_every_route_has_an_entry``.

Each case sends a request that is valid apart from who sends it (the correct If-Match included), on a
subject in a state where the action is possible. Refused requests must leave the store unchanged; an
allowed request that changes state gets a fresh subject when another caller was allowed before it.
"""

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from app.accounts.models import User
from app.core.ids import new_id
from app.events.models import WebhookDelivery
from tests.applications.cast import MINIMAL_PDF, Cast, Flow, make_cast
from tests.batches.helpers import act as batch_act
from tests.batches.helpers import open_batch, put_items, recommended
from tests.conftest import Actor
from tests.contract.world import WEBHOOK_HOST, build_world, spare_api_key
from tests.factories import PASSWORD, credit_code, make_org, make_user
from tests.store import fingerprint
from tests.tags import etag_of

CALLERS = (
    "anonymous",
    "applicant",
    "other_applicant",
    "signatory",
    "other_signatory",
    "reviewer",
    "other_reviewer",
    "office",
    "admin",
)
# applicant, signatory: of the undertaking unit (the signatory's unit is a named party); other_applicant: of another
# unit; other_signatory: of a unit the application does not name; reviewer: of the application's recommender (the
# Shandong bureau); other_reviewer: of another province's bureau (Beijing); office and admin: of the national office.
#
# Subjects (what the path's ids name): review — an application in provincial_review; returned, endorsing, draft —
# applications in those states; paper — in provincial_review with a paper sign-off to verify; submitted — an
# application on a submitted list; open_batch, submitted_batch — the Shandong bureau's lists; webhook, upload, key —
# the applicant's (delivery: a failed delivery of its webhook); user — a spare user; call — a call of its own; org — the undertaking unit; recommender — the
# Shandong bureau; scan, returned_scan — the scanned form of a review / returned application; - — nothing.
#
#  (method, path)                                                        subject           anon appl appl' sign sign' rev  rev' office admin
MATRIX: dict[tuple[str, str], tuple[Any, ...]] = {
    ("POST", "/api/v1/auth/token"): ("-", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/auth/revoke"): ("-", 200, 200, 200, 200, 200, 200, 200, 200, 200),  # holding it is enough
    ("GET", "/api/v1/me"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/api-keys"): ("-", 401, 201, 403, 403, 403, 403, 403, 403, 201),  # for the applicant
    ("GET", "/api/v1/api-keys"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("DELETE", "/api/v1/api-keys/{key_id}"): ("key", 401, 204, 404, 404, 404, 404, 404, 404, 204),
    ("GET", "/api/v1/users"): ("-", 401, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/api/v1/users"): ("-", 401, 403, 403, 403, 403, 403, 403, 403, 201),
    ("PATCH", "/api/v1/users/{user_id}"): ("user", 401, 403, 403, 403, 403, 403, 403, 403, 200),
    ("GET", "/api/v1/provinces"): ("-", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/calls"): ("-", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/calls"): ("-", 401, 403, 403, 403, 403, 403, 403, 201, 403),
    ("GET", "/api/v1/calls/{call_id}"): ("call", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("PATCH", "/api/v1/calls/{call_id}"): ("call", 401, 403, 403, 403, 403, 403, 403, 200, 403),
    ("GET", "/api/v1/calls/{call_id}/summary"): ("call", 401, 403, 403, 403, 403, 403, 403, 200, 200),
    ("GET", "/api/v1/organizations"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/organizations"): ("-", 401, 403, 403, 403, 403, 403, 403, 201, 201),
    ("GET", "/api/v1/organizations/{org_id}"): ("org", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    # Its internal deadline: the bureau's own reviewer, the office, an admin.
    ("PATCH", "/api/v1/organizations/{org_id}"): ("recommender", 401, 403, 403, 403, 403, 200, 403, 200, 200),
    ("GET", "/api/v1/applications"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    # Naming the applicant's unit: another unit's applicant, another bureau's reviewer are refused (422, not theirs).
    ("POST", "/api/v1/applications"): ("-", 401, 201, 422, 403, 403, 201, 422, 403, 403),
    ("GET", "/api/v1/applications/{application_id}"): ("review", 401, 200, 404, 200, 404, 200, 404, 404, 200),
    ("PATCH", "/api/v1/applications/{application_id}"): ("returned", 401, 200, 404, 403, 404, 403, 404, 404, 403),
    ("DELETE", "/api/v1/applications/{application_id}"): ("draft", 401, 204, 404, 404, 404, 404, 404, 404, 403),
    ("GET", "/api/v1/applications/{application_id}/validation"): (
        "review",
        401,
        200,
        404,
        200,
        404,
        200,
        404,
        404,
        200,
    ),
    ("GET", "/api/v1/applications/{application_id}/transitions"): (
        "review",
        401,
        200,
        404,
        200,
        404,
        200,
        404,
        404,
        200,
    ),
    ("POST", "/api/v1/applications/{application_id}/transitions"): (
        "endorsing",
        401,
        200,
        404,
        403,
        404,
        403,
        404,
        404,
        403,
    ),  # recall
    ("GET", "/api/v1/applications/{application_id}/endorsements"): (
        "review",
        401,
        200,
        404,
        200,
        404,
        200,
        404,
        404,
        200,
    ),
    ("POST", "/api/v1/applications/{application_id}/endorsements"): (
        "endorsing",
        401,
        403,
        404,
        201,
        404,
        403,
        404,
        404,
        403,
    ),  # online, own unit
    ("POST", "/api/v1/applications/{application_id}/endorsements/{endorsement_id}/verification"): (
        "paper",
        401,
        403,
        404,
        403,
        404,
        200,
        404,
        404,
        403,
    ),
    ("GET", "/api/v1/applications/{application_id}/form.pdf"): ("review", 401, 200, 404, 200, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/applications/{application_id}/outcome"): (
        "submitted",
        401,
        403,
        404,
        403,
        404,
        403,
        404,
        200,
        403,
    ),
    ("GET", "/api/v1/applications/{application_id}/reviews"): ("review", 401, 200, 404, 200, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/applications/{application_id}/reviews"): (
        "review",
        401,
        403,
        404,
        403,
        404,
        201,
        404,
        404,
        403,
    ),  # recommend
    ("GET", "/api/v1/applications/{application_id}/attachments"): (
        "review",
        401,
        200,
        404,
        200,
        404,
        200,
        404,
        404,
        200,
    ),
    ("POST", "/api/v1/applications/{application_id}/attachments"): (
        "returned",
        401,
        201,
        404,
        403,
        404,
        403,
        404,
        404,
        403,
    ),
    ("GET", "/api/v1/attachments/{attachment_id}"): ("scan", 401, 200, 404, 200, 404, 200, 404, 404, 200),
    ("GET", "/api/v1/attachments/{attachment_id}/content"): ("scan", 401, 200, 404, 200, 404, 200, 404, 404, 200),
    ("DELETE", "/api/v1/attachments/{attachment_id}"): ("returned_scan", 401, 204, 404, 403, 404, 403, 404, 404, 403),
    # A list of the caller's own bureau, for a call it has none for yet.
    ("POST", "/api/v1/batches"): ("call", 401, 403, 403, 403, 403, 201, 201, 403, 403),
    ("GET", "/api/v1/batches"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/batches/{batch_id}"): ("open_batch", 401, 404, 404, 404, 404, 200, 404, 404, 200),
    ("PUT", "/api/v1/batches/{batch_id}/items"): ("open_batch", 401, 404, 404, 404, 404, 200, 404, 404, 403),
    ("GET", "/api/v1/batches/{batch_id}/transitions"): ("open_batch", 401, 404, 404, 404, 404, 200, 404, 404, 200),
    ("POST", "/api/v1/batches/{batch_id}/transitions"): (
        "submitted_batch",
        401,
        404,
        404,
        404,
        404,
        403,
        404,
        200,
        403,
    ),  # acknowledge
    ("GET", "/api/v1/batches/{batch_id}/receipt"): ("submitted_batch", 401, 404, 404, 404, 404, 200, 404, 200, 200),
    ("GET", "/api/v1/batches/{batch_id}/receipts"): ("submitted_batch", 401, 404, 404, 404, 404, 200, 404, 200, 200),
    ("GET", "/api/v1/batches/{batch_id}/receipt.pdf"): ("submitted_batch", 401, 404, 404, 404, 404, 200, 404, 200, 200),
    ("GET", "/api/v1/receipt-keys"): ("-", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # The electronic copy: the submitting recommender and the office; an admin sees the list, may not take it.
    ("GET", "/api/v1/batches/{batch_id}/package.zip"): ("submitted_batch", 401, 404, 404, 404, 404, 200, 404, 200, 403),
    ("GET", "/api/v1/batches/{batch_id}/recommended-list.pdf"): (
        "open_batch",
        401,
        404,
        404,
        404,
        404,
        200,
        404,
        404,
        200,
    ),
    ("GET", "/api/v1/batches/{batch_id}/recommended-list.xlsx"): (
        "open_batch",
        401,
        404,
        404,
        404,
        404,
        200,
        404,
        404,
        200,
    ),
    ("GET", "/api/v1/batches/{batch_id}/recommended-list.csv"): (
        "open_batch",
        401,
        404,
        404,
        404,
        404,
        200,
        404,
        404,
        200,
    ),
    ("POST", "/api/v1/receipts/verify"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/events"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/webhooks"): ("-", 401, 201, 201, 201, 201, 201, 201, 201, 201),
    ("GET", "/api/v1/webhooks"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    # A subscription belongs to its organization (the signatory's is the applicant's); only its owner deletes it.
    ("GET", "/api/v1/webhooks/{webhook_id}"): ("webhook", 401, 200, 404, 200, 404, 404, 404, 404, 200),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ("webhook", 401, 204, 404, 403, 404, 404, 404, 404, 204),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): ("webhook", 401, 200, 404, 200, 404, 404, 404, 404, 200),
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): ("webhook", 401, 202, 404, 403, 404, 404, 404, 404, 202),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
        "delivery",
        401,
        202,
        404,
        403,
        404,
        404,
        404,
        404,
        202,
    ),
    ("POST", "/api/v1/bulk-uploads"): ("-", 401, 202, 202, 403, 403, 202, 202, 403, 403),
    ("GET", "/api/v1/bulk-uploads/template.xlsx"): ("-", 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/bulk-uploads/{upload_id}"): ("upload", 401, 200, 404, 404, 404, 404, 404, 404, 200),
}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1, included routers resolved."""
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and (route.path or "").startswith("/api/v1/")
        for method in route.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


GROUPS = ("accounts", "reference", "organizations", "applications", "attachments", "batches", "events", "bulk")


def group_of(path: str) -> str:
    segment = path.removeprefix("/api/v1/").split("/")[0]
    return {
        "auth": "accounts",
        "me": "accounts",
        "api-keys": "accounts",
        "users": "accounts",
        "provinces": "reference",
        "calls": "reference",
        "organizations": "organizations",
        "applications": "applications",
        "attachments": "attachments",
        "batches": "batches",
        "receipts": "batches",
        "receipt-keys": "batches",
        "events": "events",
        "webhooks": "events",
        "bulk-uploads": "bulk",
    }.get(segment, segment)


def test_every_route_has_an_entry(app: FastAPI) -> None:
    routes = api_routes(app)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without an entry in MATRIX (add one): {missing}"
    assert not stale, f"entries in MATRIX for routes that no longer exist: {stale}"
    assert all(len(row) == 1 + len(CALLERS) for row in MATRIX.values())
    assert {group_of(path) for _, path in routes} <= set(GROUPS), "a new group of routes: add it to GROUPS"


@dataclass
class Request:
    path: dict[str, str]
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, Any] | None = None
    if_match: str | None = None


class Subjects:
    """Builds the objects the cases act on, through the API as the roles would."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient, cast: Cast) -> None:
        self.app, self.client, self.cast = app, client, cast
        self.calls = 0
        self.makers: dict[str, Callable[[], Awaitable[dict[str, str]]]] = {
            "-": self.nothing,
            "review": self.review,
            "returned": self.returned,
            "endorsing": self.endorsing,
            "draft": self.draft,
            "paper": self.paper,
            "submitted": self.submitted,
            "open_batch": self.open_batch,
            "submitted_batch": self.submitted,
            "webhook": self.webhook,
            "delivery": self.delivery,
            "upload": self.upload,
            "key": self.key,
            "user": self.user,
            "call": self.call,
            "org": self.org,
            "recommender": self.recommender,
            "scan": self.scan,
            "returned_scan": self.returned_scan,
        }

    async def make(self, kind: str) -> dict[str, str]:
        return await self.makers[kind]()

    async def nothing(self) -> dict[str, str]:
        return {}

    async def _flow(self, cast: Cast | None = None) -> Flow:
        flow = Flow(self.client, cast or self.cast)
        await flow.create()
        return flow

    async def draft(self) -> dict[str, str]:
        return {"application_id": (await self._flow()).id}

    async def endorsing(self) -> dict[str, str]:
        flow = await self._flow()
        await flow.attach_scan()
        assert (await flow.act("submit")).status_code == 200
        return {"application_id": flow.id}

    async def _review(self) -> Flow:
        flow = Flow(self.client, self.cast)
        await flow.to_review()
        return flow

    async def review(self) -> dict[str, str]:
        return {"application_id": (await self._review()).id}

    async def returned(self) -> dict[str, str]:
        flow = await self._review()
        assert (await flow.review("return", "请补充材料")).status_code == 201
        return {"application_id": flow.id}

    async def _scan_of(self, application_id: str) -> str:
        r = await self.client.get(f"/api/v1/applications/{application_id}/attachments", headers=self.cast.admin.headers)
        return r.json()["items"][0]["id"]

    async def scan(self) -> dict[str, str]:
        return {"attachment_id": await self._scan_of((await self.review())["application_id"])}

    async def returned_scan(self) -> dict[str, str]:
        return {"attachment_id": await self._scan_of((await self.returned())["application_id"])}

    async def paper(self) -> dict[str, str]:
        c, flow = self.cast, await self._flow()
        await flow.attach_scan()
        assert (await flow.act("submit")).status_code == 200
        page = await self.client.post(
            f"/api/v1/applications/{flow.id}/attachments",
            headers={**c.applicant.headers, "If-Match": await etag_of(self.client, flow.id, c.applicant.headers)},
            files={"file": ("盖章页.pdf", MINIMAL_PDF, "application/pdf")},
            data={"kind": "paper_endorsement"},
        )
        assert page.status_code == 201, page.text
        await flow.get(c.applicant)
        for signatory, role, org in (
            (c.undertaking_signatory, "undertaking", c.undertaking),
            (c.participating_signatory, "participating", c.participating),
            (c.guidance_signatory, "guidance", c.guidance),
        ):
            assert (await flow.endorse(signatory, role, org)).status_code == 201
        signed = await flow.endorse(
            c.applicant, "guarantor", c.guarantor, mode="paper", attachment_id=page.json()["id"]
        )
        assert signed.status_code == 201, signed.text
        return {"application_id": flow.id, "endorsement_id": signed.json()["id"]}

    async def _new_call(self) -> str:
        self.calls += 1
        body = {
            "key": f"matrix-call-{self.calls}",
            "name": f"测试征集{self.calls}",
            "name_en": f"Test call {self.calls}",
            "notice_number": f"测试〔2022〕{self.calls}号",
            "issue_date": "2022-10-01",
            "deadline": "2022-12-31T17:00:00+08:00",
            "copy_from_call_id": self.cast.call_id,
        }
        r = await self.client.post("/api/v1/calls", json=body, headers=self.cast.office.headers)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def call(self) -> dict[str, str]:
        return {"call_id": await self._new_call()}

    async def _batch(self, submit: bool) -> dict[str, str]:
        """The Shandong bureau's list for a call of its own, with one recommended application (submitted or not)."""
        cast = replace(self.cast, call_id=await self._new_call())
        flow = await recommended(self.client, cast, "列入清单的试点项目")
        opened = await open_batch(self.client, cast)
        batch_id = opened.json()["id"]
        listed = await put_items(self.client, opened.json(), cast.reviewer, [flow.id], opened.headers["etag"])
        assert listed.status_code == 200, listed.text
        if submit:
            r = await batch_act(self.client, batch_id, cast.reviewer, listed.headers["etag"], "submit")
            assert r.status_code == 200, r.text
        return {"batch_id": batch_id, "application_id": flow.id}

    async def open_batch(self) -> dict[str, str]:
        return await self._batch(submit=False)

    async def submitted(self) -> dict[str, str]:
        return await self._batch(submit=True)

    async def webhook(self) -> dict[str, str]:
        r = await self.client.post(
            "/api/v1/webhooks",
            headers=self.cast.applicant.headers,
            json={"url": f"https://{WEBHOOK_HOST}/smps", "event_types": ["application.*"]},
        )
        assert r.status_code == 201, r.text
        return {"webhook_id": r.json()["id"]}

    async def delivery(self) -> dict[str, str]:
        """A delivery of the applicant's subscription that failed for good (written as the worker would)."""
        ids = await self.webhook()
        now = datetime.now(UTC)
        with self.app.state.database.transaction() as session:
            row = WebhookDelivery(
                id=new_id("msg"),
                webhook_id=ids["webhook_id"],
                event_id=new_id("evt"),
                event_type="application.created",
                payload="{}",
                state="failed",
                attempts=8,
                created_at=now,
                completed_at=now,
            )
            session.add(row)
        return {**ids, "delivery_id": row.id}

    async def upload(self) -> dict[str, str]:
        r = await self.client.post(
            "/api/v1/bulk-uploads",
            headers=self.cast.applicant.headers,
            json={"rows": [self.cast.form(title="批量上传的试点项目")]},
        )
        assert r.status_code == 202, r.text
        return {"upload_id": r.json()["id"]}

    async def key(self) -> dict[str, str]:
        return {"key_id": spare_api_key(self.app, self.cast.applicant)}

    async def user(self) -> dict[str, str]:
        return {"user_id": make_user(self.app, make_org(self.app), "applicant").user_id}

    async def org(self) -> dict[str, str]:
        return {"org_id": self.cast.undertaking}

    async def recommender(self) -> dict[str, str]:
        return {"org_id": self.cast.recommender}

    async def etag(self, method: str, path: str, ids: dict[str, str]) -> str | None:
        """The current ETag of what the request changes, where it takes If-Match (read as an admin)."""
        if (method, path) not in IF_MATCH:
            return None
        if path == "/api/v1/users/{user_id}":
            with self.app.state.database.reader() as session:
                return f'"{session.execute(sa.select(User.version).where(User.id == ids["user_id"])).scalar_one()}"'
        resource = "/".join(path.split("/")[:5])  # /api/v1/<collection>/{id}
        for name, value in ids.items():
            resource = resource.replace("{" + name + "}", value)
        r = await self.client.get(resource, headers=self.cast.admin.headers)
        assert r.status_code == 200, r.text
        return r.headers["etag"]


IF_MATCH = {
    ("PATCH", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/calls/{call_id}"),
    ("PATCH", "/api/v1/organizations/{org_id}"),
    ("PATCH", "/api/v1/applications/{application_id}"),
    ("DELETE", "/api/v1/applications/{application_id}"),
    ("POST", "/api/v1/applications/{application_id}/transitions"),
    ("POST", "/api/v1/applications/{application_id}/endorsements"),
    ("POST", "/api/v1/applications/{application_id}/endorsements/{endorsement_id}/verification"),
    ("POST", "/api/v1/applications/{application_id}/outcome"),
    ("POST", "/api/v1/applications/{application_id}/reviews"),
    ("PUT", "/api/v1/batches/{batch_id}/items"),
    ("POST", "/api/v1/batches/{batch_id}/transitions"),
    ("DELETE", "/api/v1/attachments/{attachment_id}"),
    ("POST", "/api/v1/applications/{application_id}/attachments"),  # the application's
}


def request_for(method: str, path: str, ids: dict[str, str], cast: Cast, caller: str) -> Request:
    """A request valid apart from who sends it."""
    form = cast.form(
        parties={
            "undertaking": cast.undertaking,
            "participating": [cast.participating],
            "guarantor": cast.guarantor,
            "guidance": cast.guidance,
        }
    )
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/api-keys"): {"name": "省级系统同步", "user_id": cast.applicant.user_id},
        ("POST", "/api/v1/users"): {
            "username": f"matrix_{caller}",
            "display_name": "王芳",
            "roles": ["applicant"],
            "organization_id": cast.undertaking,
            "password": PASSWORD,
        },
        ("PATCH", "/api/v1/users/{user_id}"): {"display_name": "李明"},
        ("POST", "/api/v1/calls"): {
            "key": f"matrix-new-{caller.replace('_', '-')}",
            "name": "第十批",
            "name_en": "10th batch",
            "notice_number": "国标委联〔2023〕1号",
            "issue_date": "2023-06-01",
            "deadline": "2023-09-30T17:00:00+08:00",
        },
        ("PATCH", "/api/v1/calls/{call_id}"): {"deadline": "2023-01-15T17:00:00+08:00", "reason": "延期"},
        ("POST", "/api/v1/organizations"): {
            "name": "济南市市中区人民政府",
            "credit_code": credit_code("370103"),
            "province_code": "370000",
            "kind": "government_agency",
        },
        ("PATCH", "/api/v1/organizations/{org_id}"): {"internal_deadline": "2022-11-14T17:00:00+08:00"},
        ("POST", "/api/v1/applications"): form,
        ("PATCH", "/api/v1/applications/{application_id}"): {"title": "济南市历下区政务服务标准化试点（修改）"},
        ("POST", "/api/v1/applications/{application_id}/transitions"): {"action": "recall"},
        ("POST", "/api/v1/applications/{application_id}/endorsements"): {
            "role": "undertaking",
            "organization_id": cast.undertaking,
            "decision": "agree",
            "opinion": "同意申报",
            "signatory_name": "张伟",
            "signatory_title": "局长",
        },
        ("POST", "/api/v1/applications/{application_id}/endorsements/{endorsement_id}/verification"): {
            "verdict": "confirmed"
        },
        ("POST", "/api/v1/applications/{application_id}/outcome"): {
            "decision": "approve",
            "document_number": "国标委发〔2023〕5号",
        },
        ("POST", "/api/v1/applications/{application_id}/reviews"): {"decision": "recommend", "opinion": "同意推荐"},
        ("POST", "/api/v1/batches"): {"call_id": ids.get("call_id", "")},
        ("PUT", "/api/v1/batches/{batch_id}/items"): {
            "items": [{"application_id": ids.get("application_id", ""), "rank": 1}]
        },
        ("POST", "/api/v1/batches/{batch_id}/transitions"): {"action": "acknowledge"},
        ("POST", "/api/v1/receipts/verify"): {"tracking_number": "SMPS-0", "items": [], "digest": "0" * 64},
        ("POST", "/api/v1/webhooks"): {"url": f"https://{WEBHOOK_HOST}/{caller}", "event_types": ["batch.*"]},
        ("POST", "/api/v1/bulk-uploads"): {"rows": [cast.form(title="批量上传的试点项目")]},
    }
    if (method, path) == ("POST", "/api/v1/auth/token"):
        return Request(ids, data={"username": cast.applicant.username, "password": PASSWORD})
    if (method, path) == ("POST", "/api/v1/auth/revoke"):
        return Request(ids, data={"token": "smpt_never-issued"})
    if (method, path) == ("POST", "/api/v1/applications/{application_id}/attachments"):
        return Request(ids, data={"kind": "evidence"}, files={"file": ("佐证材料.pdf", MINIMAL_PDF, "application/pdf")})
    return Request(ids, json=bodies.get((method, path)))


async def _send(
    client: httpx.AsyncClient, method: str, path: str, request: Request, actor: Actor | None
) -> httpx.Response:
    url = path
    for name, value in request.path.items():
        url = url.replace("{" + name + "}", value)
    headers = dict(actor.headers) if actor else {}
    if request.if_match:
        headers["If-Match"] = request.if_match
    return await client.request(method, url, headers=headers, json=request.json, data=request.data, files=request.files)


@pytest.mark.parametrize("group", GROUPS)
async def test_authorization_matrix(app: FastAPI, client: httpx.AsyncClient, group: str) -> None:
    cast = await make_cast(app, client)
    actors: dict[str, Actor | None] = {
        "anonymous": None,
        "applicant": cast.applicant,
        "other_applicant": cast.stranger,
        "signatory": cast.undertaking_signatory,
        "other_signatory": cast.stranger_signatory,
        "reviewer": cast.reviewer,
        "other_reviewer": cast.other_reviewer,
        "office": cast.office,
        "admin": cast.admin,
    }
    subjects = Subjects(app, client, cast)
    shared: dict[str, dict[str, str]] = {}
    mismatches: list[str] = []
    routes = sorted(key for key in api_routes(app) if group_of(key[1]) == group)
    assert routes
    for method, path in routes:
        kind, *codes = MATRIX[(method, path)]
        expected = dict(zip(CALLERS, codes, strict=True))
        changes = method != "GET"
        # Refusals first, on one subject; each allowed change after the first gets a fresh one.
        order = sorted(CALLERS, key=lambda c: expected[c] < 300)
        if changes:
            ids = await subjects.make(kind)
        else:
            ids = shared.get(kind) or shared.setdefault(kind, await subjects.make(kind))
        allowed_before = False
        for caller in order:
            allowed = expected[caller] < 300
            if changes and allowed and allowed_before:
                ids = await subjects.make(kind)
            request = request_for(method, path, ids, cast, caller)
            request.if_match = await subjects.etag(method, path, ids)
            if changes and not allowed:
                _settle_bulk_threads()  # an upload accepted earlier may still be writing its rows
            before = fingerprint(app) if changes and not allowed else None
            r = await _send(client, method, path, request, actors[caller])
            if r.status_code != expected[caller]:
                mismatches.append(
                    f"{method} {path} as {caller}: expected {expected[caller]}, got {r.status_code} {r.text[:300]}"
                )
            elif before is not None and fingerprint(app) != before:
                mismatches.append(f"{method} {path} as {caller}: refused with {r.status_code} but the store changed")
            allowed_before = allowed_before or allowed
    assert not mismatches, "\n".join(mismatches)


# Who sees the applicant's application (GET one, and in the list), by the state it is in. An application
# entered by the Shandong bureau's reviewer for a unit is the reviewer's until it is submitted.
#  state                      appl appl' sign sign' rev  rev' office admin
VISIBILITY = {
    "draft": (1, 0, 0, 0, 0, 0, 0, 1),
    "recalled": (1, 0, 0, 0, 0, 0, 0, 1),  # submitted, then back to draft
    "entered": (0, 0, 0, 0, 1, 0, 0, 1),
    "withdrawn": (1, 0, 0, 0, 0, 0, 0, 1),  # from draft: never before the parties
    "endorsing": (1, 0, 1, 0, 1, 0, 0, 1),
    "provincial_review": (1, 0, 1, 0, 1, 0, 0, 1),
    "returned": (1, 0, 1, 0, 1, 0, 0, 1),
    "rejected": (1, 0, 1, 0, 1, 0, 0, 1),
    "withdrawn_after_submit": (1, 0, 1, 0, 1, 0, 0, 1),
    "recommended": (1, 0, 1, 0, 1, 0, 0, 1),
    "submitted": (1, 0, 1, 0, 1, 0, 1, 1),
    "approved": (1, 0, 1, 0, 1, 0, 1, 1),
}


async def test_who_sees_an_application_in_each_state(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await build_world(app, client)
    c = world.cast
    callers = {
        "applicant": c.applicant,
        "other_applicant": c.stranger,
        "signatory": c.undertaking_signatory,
        "other_signatory": c.stranger_signatory,
        "reviewer": c.reviewer,
        "other_reviewer": c.other_reviewer,
        "office": c.office,
        "admin": c.admin,
    }
    assert set(VISIBILITY) == set(world.applications)
    wrong = []
    for name, actor in callers.items():
        r = await client.get("/api/v1/applications", params={"page_size": 500}, headers=actor.headers)
        listed = {a["id"] for a in r.json()["items"]}
        for state, row in VISIBILITY.items():
            sees = bool(dict(zip(callers, row, strict=True))[name])
            application_id = world.applications[state]
            got = (await client.get(f"/api/v1/applications/{application_id}", headers=actor.headers)).status_code
            if got != (200 if sees else 404) or (application_id in listed) != sees:
                wrong.append(
                    f"{state} as {name}: GET {got}, listed {application_id in listed}, expected to see: {sees}"
                )
    assert not wrong, "\n".join(wrong)


def _settle_bulk_threads() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("bulk-"):
            thread.join(timeout=120)
