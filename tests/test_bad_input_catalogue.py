"""The bad-input catalogue: each answered with its documented problem, and nothing in the store changed.

Every case first sets the scene, then marks the store, then sends one bad request.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.clock import BEIJING
from tests.applications.cast import Cast, Flow, make_cast
from tests.attachments import files
from tests.bulk import hostile_files
from tests.factories import make_org, make_user, seeded_org
from tests.store import fingerprint


@dataclass
class Scene:
    app: FastAPI
    client: httpx.AsyncClient
    cast: Cast
    flow: Flow
    clock: Any
    before: str = ""

    def mark(self) -> None:
        self.before = fingerprint(self.app)

    @property
    def app_url(self) -> str:
        return f"/api/v1/applications/{self.flow.id}"

    async def post_app(self, body: Any, **headers: str) -> httpx.Response:
        return await self.client.post(
            "/api/v1/applications", json=body, headers={**self.cast.applicant.headers, **headers}
        )

    async def upload(self, content: bytes, filename: str, kind: str = "evidence") -> httpx.Response:
        return await self.client.post(
            f"{self.app_url}/attachments",
            headers={**self.cast.applicant.headers, "If-Match": "*"},
            data={"kind": kind},
            files={"file": (filename, content, "application/pdf")},
        )


Case = Callable[[Scene], Awaitable[httpx.Response]]


async def malformed_json(s: Scene) -> httpx.Response:
    s.mark()
    return await s.client.post(
        "/api/v1/applications",
        content=b'{"title": ',
        headers={**s.cast.applicant.headers, "Content-Type": "application/json"},
    )


async def wrong_type(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(title=["not", "a", "string"]))


async def over_long_string(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(contact={"name": "名" * 51, "phone": "13800138000", "email": "a@example.cn"}))


async def empty_string(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(title="   "))


async def control_characters(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(title="试点\u0000项目"))


async def invalid_credit_code(s: Scene) -> httpx.Response:
    office = make_user(s.app, seeded_org(s.app, "office"), "office")
    s.mark()
    return await s.client.post(
        "/api/v1/organizations",
        headers=office.headers,
        json={
            "name": "某单位",
            "credit_code": "11370102MB2834567X",
            "province_code": "370000",
            "kind": "government_agency",
        },
    )


async def invalid_phone(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(contact={"name": "王芳", "phone": "1380013800", "email": "a@example.cn"}))


async def invalid_date(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(period={"start": "2023-13-01", "end": "2024-12-31"}))


async def invalid_domain_code(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(domain={"area": "8.1"}))


async def unknown_field(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(approved=True))


async def executable_posing_as_pdf(s: Scene) -> httpx.Response:
    s.mark()
    return await s.upload(files.ELF, "申报书.pdf")


async def empty_pdf(s: Scene) -> httpx.Response:
    s.mark()
    return await s.upload(b"", "申报书.pdf")


async def encrypted_pdf(s: Scene) -> httpx.Response:
    s.mark()
    return await s.upload(files.pdf(password="secret"), "申报书.pdf")


async def oversize_upload(s: Scene) -> httpx.Response:
    s.app.state.settings.max_attachment_bytes = 64 * 1024
    s.mark()
    return await s.upload(files.pdf() + b"0" * (128 * 1024), "大文件.pdf")


async def stale_if_match(s: Scene) -> httpx.Response:
    s.mark()
    return await s.client.patch(
        s.app_url, json={"title": "新名称"}, headers={**s.cast.applicant.headers, "If-Match": '"999"'}
    )


async def missing_if_match(s: Scene) -> httpx.Response:
    s.mark()
    return await s.client.patch(s.app_url, json={"title": "新名称"}, headers=s.cast.applicant.headers)


async def idempotency_key_with_another_body(s: Scene) -> httpx.Response:
    first = await s.post_app(s.cast.form(), **{"Idempotency-Key": "upload-42"})
    assert first.status_code == 201
    s.mark()
    return await s.post_app(s.cast.form(title="另一个项目"), **{"Idempotency-Key": "upload-42"})


async def action_after_deadline(s: Scene) -> httpx.Response:
    s.clock.set(datetime(2022, 11, 15, 23, 59, 59, tzinfo=BEIJING))
    s.clock.advance(seconds=1)
    s.mark()
    return await s.flow.act("submit")


async def action_in_wrong_state(s: Scene) -> httpx.Response:
    s.mark()
    return await s.flow.act("recall")  # a draft has nothing to recall


async def entry_for_another_province(s: Scene) -> httpx.Response:
    beijing = make_org(s.app, province_code="110000", area="110101")
    body = s.cast.form(parties={"undertaking": beijing, "participating": []})
    s.mark()
    return await s.client.post("/api/v1/applications", json=body, headers=s.cast.reviewer.headers)


async def recommender_change_after_review(s: Scene) -> httpx.Response:
    ministry = make_org(s.app, province_code="110000", area="110102", recommender_kind="member_unit")
    assert (await s.flow.act("submit")).status_code == 200
    await s.flow.endorse_all()
    assert (await s.flow.review("return", "请补充")).status_code == 201
    await s.flow.get(s.cast.applicant)
    s.mark()
    return await s.client.patch(
        s.app_url, json={"recommender_id": ministry}, headers={**s.cast.applicant.headers, "If-Match": s.flow.etag}
    )


async def _bulk_file(s: Scene, name: str, data: bytes) -> httpx.Response:
    s.mark()
    media = "text/csv" if name.endswith(".csv") else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return await s.client.post(
        "/api/v1/bulk-uploads", headers=s.cast.applicant.headers, files={"file": (name, data, media)}
    )


async def bulk_billion_laughs(s: Scene) -> httpx.Response:
    return await _bulk_file(s, "申请.xlsx", hostile_files.billion_laughs_xlsx())


async def bulk_zip_bomb(s: Scene) -> httpx.Response:
    return await _bulk_file(s, "申请.xlsx", hostile_files.zip_bomb_xlsx(8))


async def bulk_blank_lines(s: Scene) -> httpx.Response:
    return await _bulk_file(s, "申请.csv", hostile_files.blank_lines_csv(2))


async def bulk_cell_too_long(s: Scene) -> httpx.Response:
    return await _bulk_file(s, "申请.csv", hostile_files.huge_cell_header_csv(1))


async def webhook_to_an_embedded_loopback(s: Scene) -> httpx.Response:
    s.mark()
    body = {"url": "http://[64:ff9b::7f00:1]/hook", "event_types": ["*"]}
    return await s.client.post("/api/v1/webhooks", json=body, headers=s.cast.applicant.headers)


async def _patch_user(s: Scene, user_id: str, body: dict) -> httpx.Response:
    from app.accounts.models import User

    with s.app.state.database.reader() as session:
        version = session.get(User, user_id).version  # type: ignore[union-attr]
    return await s.client.patch(
        f"/api/v1/users/{user_id}", json=body, headers={**s.cast.admin.headers, "If-Match": f'"{version}"'}
    )


async def last_admin_demoted(s: Scene) -> httpx.Response:
    import sqlalchemy as sa

    from app.accounts.models import User

    with s.app.state.database.writer() as session:  # the cast's admin becomes the only active one
        session.execute(
            sa.update(User)
            .where(User.id != s.cast.admin.user_id, sa.cast(User.roles, sa.String).like('%"admin"%'))
            .values(is_active=False)
        )
        session.commit()
    s.mark()
    return await _patch_user(s, s.cast.admin.user_id, {"roles": ["office"]})


async def self_deactivation(s: Scene) -> httpx.Response:
    s.mark()
    return await _patch_user(s, s.cast.admin.user_id, {"is_active": False})


async def username_differing_only_in_case(s: Scene) -> httpx.Response:
    s.mark()
    body = {
        "username": s.cast.applicant.username.upper(),
        "display_name": "重名",
        "roles": ["applicant"],
        "organization_id": s.cast.applicant.organization_id,
        "password": "correct-horse-battery",
    }
    return await s.client.post("/api/v1/users", json=body, headers=s.cast.admin.headers)


async def json_body_over_the_limit(s: Scene) -> httpx.Response:
    s.mark()
    body = b'{"title": "' + b"a" * s.app.state.settings.max_json_body_bytes + b'"}'
    return await s.client.post("/api/v1/applications", content=body, headers={"Content-Type": "application/json"})


async def chunked_json_body_over_the_limit(s: Scene) -> httpx.Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB, no Content-Length
            yield b" " * (64 * 1024)

    s.mark()
    return await s.client.post(
        "/api/v1/applications",
        content=chunks(),
        headers={**s.cast.applicant.headers, "Content-Type": "application/json"},
    )


async def form_body_over_the_limit(s: Scene) -> httpx.Response:
    s.mark()
    return await s.client.post(
        "/api/v1/auth/token",
        content=b"username=a&password=" + b"x" * (128 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def amount_as_boolean(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(funding={"amount_cny": True}))


async def amount_as_string(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(funding={"amount_cny": "1200"}))


async def attestation_as_number(s: Scene) -> httpx.Response:
    s.mark()
    return await s.post_app(s.cast.form(eligibility=[{"condition": 1, "attested": 1}]))


async def over_long_query_filter(s: Scene) -> httpx.Response:
    s.mark()
    return await s.client.get("/api/v1/applications", params={"q": "试" * 101}, headers=s.cast.applicant.headers)


async def webhook_over_the_quota(s: Scene) -> httpx.Response:
    s.app.state.settings.max_webhooks_per_user = 1
    s.app.state.settings.webhook_allowed_hosts = "127.0.0.1"
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    assert (await s.client.post("/api/v1/webhooks", json=hook, headers=s.cast.applicant.headers)).status_code == 201
    s.mark()
    return await s.client.post("/api/v1/webhooks", json=hook, headers=s.cast.applicant.headers)


async def html_behind_a_png_header(s: Scene) -> httpx.Response:
    s.mark()
    return await s.upload(files.PNG_HEADER_HTML, "现场照片.png")


async def image_decompression_bomb(s: Scene) -> httpx.Response:
    s.mark()
    return await s.upload(files.png_declaring(8000, 8000), "现场照片.png")


CATALOGUE: list[tuple[Case, int, str, str | None]] = [
    # (case, status, code, pointer of a field error when there is one)
    (malformed_json, 400, "malformed_json", None),
    (wrong_type, 422, "validation_failed", "/title"),
    (over_long_string, 422, "validation_failed", "/contact/name"),
    (empty_string, 422, "validation_failed", "/title"),
    (control_characters, 422, "validation_failed", "/title"),
    (invalid_credit_code, 422, "validation_failed", "/credit_code"),
    (invalid_phone, 422, "validation_failed", "/contact/phone"),
    (invalid_date, 422, "validation_failed", "/period/start"),
    (invalid_domain_code, 422, "validation_failed", "/domain/area"),
    (unknown_field, 422, "validation_failed", "/approved"),
    (executable_posing_as_pdf, 415, "unsupported_media_type", None),
    (empty_pdf, 415, "unsupported_media_type", None),
    (encrypted_pdf, 415, "unsupported_media_type", None),
    (oversize_upload, 413, "payload_too_large", None),
    (stale_if_match, 412, "precondition_failed", None),
    (missing_if_match, 428, "precondition_required", None),
    (idempotency_key_with_another_body, 422, "idempotency_key_reused", None),
    (action_after_deadline, 409, "deadline_passed", None),
    (action_in_wrong_state, 409, "invalid_state_transition", None),
    (entry_for_another_province, 422, "validation_failed", "/parties/undertaking"),
    (recommender_change_after_review, 422, "validation_failed", "/recommender_id"),
    (bulk_billion_laughs, 422, "unreadable_spreadsheet", None),
    (bulk_zip_bomb, 413, "compression_ratio_too_high", None),
    (bulk_blank_lines, 413, "too_many_rows", None),
    (bulk_cell_too_long, 422, "cell_too_long", None),
    (webhook_to_an_embedded_loopback, 422, "validation_failed", "/url"),
    (last_admin_demoted, 409, "last_admin", None),
    (self_deactivation, 409, "self_deactivation", None),
    (username_differing_only_in_case, 409, "duplicate", "/username"),
    (json_body_over_the_limit, 413, "payload_too_large", None),
    (chunked_json_body_over_the_limit, 413, "payload_too_large", None),
    (form_body_over_the_limit, 413, "payload_too_large", None),
    (amount_as_boolean, 422, "validation_failed", "/funding/amount_cny"),
    (amount_as_string, 422, "validation_failed", "/funding/amount_cny"),
    (attestation_as_number, 422, "validation_failed", "/eligibility/0/attested"),
    (over_long_query_filter, 422, "validation_failed", "query:/q"),
    (webhook_over_the_quota, 409, "too_many_webhooks", None),
    (html_behind_a_png_header, 415, "unsupported_media_type", None),
    (image_decompression_bomb, 415, "unsupported_media_type", None),
]


@pytest.mark.parametrize(("case", "status", "code", "pointer"), CATALOGUE, ids=[c[0].__name__ for c in CATALOGUE])
async def test_bad_input_is_answered_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, clock: Any, case: Case, status: int, code: str, pointer: str | None
) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    scene = Scene(app, client, cast, flow, clock)
    response = await case(scene)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["type"] == f"urn:smps:problem:{code}"
    assert problem["title"] and "Traceback" not in response.text
    if pointer:
        assert pointer in [e["pointer"] for e in problem["errors"]], problem
    assert scene.before and fingerprint(app) == scene.before
