"""Messages speak the reader's language: Chinese labels of coded values in zh (the code beside them), codes
in en; an impossible date is named; a period ending before it starts is reported on its end."""

import httpx
from fastapi import FastAPI

from tests.applications.cast import Flow, make_cast

ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


def _errors(r: httpx.Response) -> dict[str, dict]:
    assert r.status_code == 422, r.text
    return {e["pointer"]: e for e in r.json()["errors"]}


async def _create(client: httpx.AsyncClient, cast, lang: dict[str, str], **overrides) -> httpx.Response:
    return await client.post(
        "/api/v1/applications", json=cast.form(**overrides), headers={**cast.applicant.headers, **lang}
    )


async def test_allowed_values_are_listed_with_their_chinese_labels(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    standards = [{"code": "GB/T 1-2020", "title": "标准化工作导则", "level": "state", "status": "current"}]
    zh = _errors(await _create(client, cast, ZH, standards=standards))
    en = _errors(await _create(client, cast, EN, standards=standards))
    assert zh["/standards/0/status"]["message"] == "取值不在允许范围内：现行（existing）、待制定（to_be_drafted）"
    assert en["/standards/0/status"]["message"] == "Must be one of 'existing' or 'to_be_drafted'"
    assert zh["/standards/0/level"]["message"] == (
        "取值不在允许范围内：国家标准（national）、行业标准（sector）、地方标准（local）、团体标准（group）、企业标准（enterprise）"
    )
    assert {e["code"] for e in [*zh.values(), *en.values()]} == {"invalid_choice"}


async def test_an_impossible_date_is_named_and_a_backwards_period_is_reported_on_its_end(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cast = await make_cast(app, client)
    impossible = {"start": "2027-02-30", "end": "2028-12-31"}
    assert (
        _errors(await _create(client, cast, ZH, period=impossible))["/period/start"]["message"]
        == "日期不存在：2027-02-30"
    )
    assert (
        _errors(await _create(client, cast, EN, period=impossible))["/period/start"]["message"]
        == "No such date: 2027-02-30"
    )
    # A date of the wrong shape keeps the format message (nothing to name).
    malformed = _errors(await _create(client, cast, ZH, period={"start": "2027-2-3", "end": "2028-12-31"}))
    assert malformed["/period/start"] == {
        "pointer": "/period/start",
        "code": "invalid_date",
        "message": "日期格式应为 YYYY-MM-DD",
    }
    backwards = {"start": "2024-12-31", "end": "2023-01-01"}
    zh = _errors(await _create(client, cast, ZH, period=backwards))
    en = _errors(await _create(client, cast, EN, period=backwards))
    assert list(zh) == list(en) == ["/period/end"]
    assert (
        zh["/period/end"]["code"] == "period_not_ordered"
        and zh["/period/end"]["message"] == "试点期结束日期须晚于开始日期"
    )
    assert en["/period/end"]["message"] == "The pilot period must end after it starts"


async def test_a_missing_attachment_and_an_unknown_condition_are_named(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    url = f"/api/v1/applications/{flow.id}/validation"
    zh = {e["pointer"]: e for e in (await client.get(url, headers={**cast.applicant.headers, **ZH})).json()["errors"]}
    en = {e["pointer"]: e for e in (await client.get(url, headers={**cast.applicant.headers, **EN})).json()["errors"]}
    assert zh["/attachments/application_form_scan"]["message"] == "缺少必需的附件：申请书盖章扫描件"
    assert (
        en["/attachments/application_form_scan"]["message"] == "A required attachment is missing: application_form_scan"
    )
    assert (
        zh["/attachments/application_form_scan"]["code"]
        == en["/attachments/application_form_scan"]["code"]
        == "attachment_required"
    )
    eligibility = [{"condition": n, "attested": True} for n in (1, 2, 3, 4, 5)]
    assert _errors(await _create(client, cast, ZH, eligibility=eligibility))["/eligibility/4/condition"]["message"] == (
        "本批次没有第 5 条基本条件"
    )
    assert _errors(await _create(client, cast, EN, eligibility=eligibility))["/eligibility/4/condition"]["message"] == (
        "The call has no eligibility condition 5"
    )


async def test_a_missing_role_is_named_in_chinese(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    flow = Flow(client, cast)
    await flow.create()
    await flow.attach_scan()
    assert (await flow.act("submit")).status_code == 200
    await flow.endorse_all()
    zh = await client.post(
        f"/api/v1/applications/{flow.id}/reviews",
        json={"decision": "recommend", "opinion": "同意"},
        headers={**cast.applicant.headers, **ZH, "If-Match": flow.etag},
    )
    en = await client.post(
        f"/api/v1/applications/{flow.id}/reviews",
        json={"decision": "recommend", "opinion": "同意"},
        headers={**cast.applicant.headers, **EN, "If-Match": flow.etag},
    )
    assert zh.status_code == en.status_code == 403, zh.text
    assert (
        zh.json()["detail"] == "需要本申请的审核人角色"
        and en.json()["detail"] == "Requires the reviewer role for this application"
    )
    assert zh.json()["required_roles"] == en.json()["required_roles"] == ["reviewer"]
    applicant = await client.post(
        "/api/v1/batches", json={"call_id": cast.call_id}, headers={**cast.applicant.headers, **ZH}
    )
    assert applicant.status_code == 403 and "审核人（reviewer）" in applicant.json()["detail"], applicant.text
