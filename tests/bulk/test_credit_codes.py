"""Bulk rows name organizations by id or by unified social credit code, in JSON, CSV and XLSX."""

import csv
import io
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from app.applications.models import ApplicationParty
from app.organizations.models import Organization
from tests.applications.cast import Cast, make_cast
from tests.bulk.test_bulk import URL, XLSX, ZH, cells_of, post_file, wait_done, xlsx_bytes
from tests.factories import credit_code, make_org, make_user


def code_of(app: Any, org_id: str) -> str:
    with app.state.database.reader() as session:
        return session.execute(sa.select(Organization.credit_code).where(Organization.id == org_id)).scalar_one()


def by_codes(app: Any, cast: Cast, **overrides: Any) -> dict[str, Any]:
    """A form whose parties are named by credit code (the first participating unit in lower case)."""
    parties = {
        "participating": [code_of(app, cast.participating).lower()],
        "guarantor": code_of(app, cast.guarantor),
        "guidance": code_of(app, cast.guidance),
    }
    return cast.form(parties=parties, **overrides)


def parties_of(app: Any, application_id: str) -> dict[str, str]:
    with app.state.database.reader() as session:
        rows = session.execute(
            sa.select(ApplicationParty.role, ApplicationParty.organization_id).where(
                ApplicationParty.application_id == application_id
            )
        ).all()
    return dict(rows)


async def test_json_rows_name_parties_by_credit_code_and_store_their_ids(app, client):
    cast = await make_cast(app, client)
    member = make_org(
        app, name="国家卫生健康委员会", province_code="110000", area="110000", recommender_kind="member_unit"
    )
    rows = [
        by_codes(app, cast, title="信用代码试点"),
        by_codes(app, cast, title="成员单位推荐", recommender_id=code_of(app, member)),
    ]
    r = await client.post(URL, json={"mode": "valid_rows", "rows": rows}, headers=cast.applicant.headers)
    done = await wait_done(client, r.json()["id"], cast.applicant.headers)
    assert done["created_count"] == 2 and done["error_count"] == 0, done["results"]
    first, second = (row["application_id"] for row in done["results"])
    body = (await client.get(f"/api/v1/applications/{first}", headers=cast.applicant.headers)).json()
    assert body["parties"] == {
        "undertaking": cast.undertaking,
        "participating": [cast.participating],
        "guarantor": cast.guarantor,
        "guidance": cast.guidance,
    }
    assert parties_of(app, first)["guarantor"] == cast.guarantor
    body = (await client.get(f"/api/v1/applications/{second}", headers=cast.applicant.headers)).json()
    assert body["recommender_id"] == member


async def test_an_unknown_credit_code_is_the_rows_error_at_its_field(app, client):
    cast = await make_cast(app, client)
    unknown = credit_code()  # well-formed, registered by no one
    row = by_codes(app, cast)
    row["parties"]["participating"].append(unknown)
    h = {**cast.applicant.headers, "Accept-Language": "en"}
    r = await client.post(URL, json={"mode": "valid_rows", "rows": [row]}, headers=h)
    done = await wait_done(client, r.json()["id"], h)
    assert done["results"][0]["status"] == "invalid"
    assert done["results"][0]["errors"] == [
        {
            "pointer": "/rows/0/parties/participating/1",
            "column": "participating",
            "header": None,
            "code": "unknown_credit_code",
            "message": "No organization is registered with this unified social credit code (give an organization "
            "id or a registered code)",
        }
    ]
    # An unknown id stays an unknown organization.
    r = await client.post(URL, json={"rows": [cast.form(parties={"guarantor": "org_nobody"})]}, headers=h)
    done = await wait_done(client, r.json()["id"], h)
    assert [e["code"] for e in done["results"][0]["errors"]] == ["unknown_organization"]


async def test_csv_and_xlsx_name_parties_by_credit_code(app, client):
    cast = await make_cast(app, client)
    rows = [cells_of(by_codes(app, cast, title=f"文件试点{i}")) for i in range(3)]
    rows[2]["guarantor"] = credit_code()  # registered by no one
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([ZH[k] for k in rows[0]])
    for row in rows:
        writer.writerow(["" if row[k] is None else row[k] for k in rows[0]])
    done = await post_file(client, cast, "申请.csv", out.getvalue().encode("gb18030"), "text/csv", "valid_rows")
    assert [r["status"] for r in done["results"]] == ["created", "created", "invalid"]
    error = done["results"][2]["errors"][0]
    assert (error["pointer"], error["column"], error["header"], error["code"]) == (
        "/rows/2/guarantor",
        "guarantor",
        "保证单位",
        "unknown_credit_code",
    )
    assert parties_of(app, done["results"][0]["application_id"])["participating"] == cast.participating

    rows = [cells_of(by_codes(app, cast, title=f"表格试点{i}")) for i in range(2)]
    rows[1]["participating"] = f"{code_of(app, cast.participating)}；{credit_code()}"
    done = await post_file(client, cast, "申请.xlsx", xlsx_bytes(rows), XLSX, "valid_rows")
    assert [r["status"] for r in done["results"]] == ["created", "invalid"]
    error = done["results"][1]["errors"][0]
    assert error["pointer"] == "/rows/1/participating" and error["code"] == "unknown_credit_code"
    assert error["message"].startswith("第 2 项：") and done["results"][1]["line"] == 3
    assert parties_of(app, done["results"][0]["application_id"])["guidance"] == cast.guidance


async def test_a_code_names_no_more_than_its_id_would(app, client):
    """The rules of naming an organization by id hold by code: one's own unit, a bureau's own province."""
    cast = await make_cast(app, client)
    h = cast.applicant.headers
    other = code_of(app, cast.guarantor)
    for ref in (cast.guarantor, other):  # an applicant's undertaking unit is its own organization
        r = await client.post(URL, json={"rows": [cast.form(parties={"undertaking": ref})]}, headers=h)
        done = await wait_done(client, r.json()["id"], h)
        assert [e["code"] for e in done["results"][0]["errors"]] == ["must_be_own_organization"]

    # A provincial bureau enters for units of its province only, by id as by code.
    beijing_unit = make_org(app, name="北京市东城区人民政府", province_code="110000", area="110101")
    reviewer = cast.reviewer
    for ref in (beijing_unit, code_of(app, beijing_unit)):
        row = by_codes(app, cast, title="代录外省单位")
        row["parties"]["undertaking"] = ref
        r = await client.post(URL, json={"rows": [row]}, headers=reviewer.headers)
        done = await wait_done(client, r.json()["id"], reviewer.headers)
        assert [e["code"] for e in done["results"][0]["errors"]] == ["undertaking_outside_province"], done
    row = by_codes(app, cast, title="代录本省单位")
    row["parties"]["undertaking"] = code_of(app, cast.undertaking)
    r = await client.post(URL, json={"rows": [row]}, headers=reviewer.headers)
    done = await wait_done(client, r.json()["id"], reviewer.headers)
    assert done["results"][0]["status"] == "created", done

    # A unit that is not a recommender cannot recommend, by code as by id.
    r = await client.post(URL, json={"rows": [cast.form(recommender_id=other)]}, headers=h)
    done = await wait_done(client, r.json()["id"], h)
    assert [e["code"] for e in done["results"][0]["errors"]] == ["not_a_recommender"]
    # Naming one unit twice, once by code and once by id, is the same party twice.
    row = by_codes(app, cast, title="重复单位")
    row["parties"]["guidance"] = cast.guarantor
    r = await client.post(URL, json={"rows": [row]}, headers=h)
    done = await wait_done(client, r.json()["id"], h)
    assert done["results"][0]["status"] == "created"  # allowed while drafting; the validation reports it
    application_id = done["results"][0]["application_id"]
    report = (await client.get(f"/api/v1/applications/{application_id}/validation", headers=h)).json()
    assert {"pointer": "/parties/guidance", "code": "duplicate_party"}.items() <= next(
        e for e in report["errors"] if e["code"] == "duplicate_party"
    ).items()
    # And one of another user: an applicant of another unit names the same codes the same way.
    stranger = make_user(app, beijing_unit, "applicant")
    r = await client.post(URL, json={"rows": [by_codes(app, cast, title="外单位")]}, headers=stranger.headers)
    done = await wait_done(client, r.json()["id"], stranger.headers)
    assert done["results"][0]["status"] == "created"


async def test_the_template_says_codes_are_accepted(app, client):
    cast = await make_cast(app, client)
    r = await client.get(f"{URL}/template.xlsx", headers=cast.applicant.headers)
    guide = [row for row in load_workbook(io.BytesIO(r.content)).worksheets[1].iter_rows(values_only=True)]
    described = {row[1]: row[2] for row in guide if row[1] in ("guarantor", "recommender_id", "participating")}
    assert all("credit code" in text for text in described.values()), described
    assert any("统一社会信用代码" in (row[0] or "") and "unknown_credit_code" in (row[0] or "") for row in guide)
    assert any("duplicate" in (row[1] or "") and "upsert" in (row[1] or "") for row in guide)
