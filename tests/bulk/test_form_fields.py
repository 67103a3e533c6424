"""A bulk upload form with a field it does not have is refused, as a JSON body with an unknown field is."""

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.bulk.models import BulkUpload
from tests.applications.cast import make_cast

URL = "/api/v1/bulk-uploads"


async def test_unknown_form_field_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    cast = await make_cast(app, client)
    r = await client.post(
        URL,
        headers=cast.applicant.headers,
        data={"mode": "valid_rows", "colour": "blue"},
        files={"file": ("applications.csv", "项目名称\n试点\n".encode(), "text/csv")},
    )
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("/colour", "unknown_field")]
    json_body = await client.post(URL, headers=cast.applicant.headers, json={"rows": [], "colour": "blue"})
    assert json_body.status_code == 422
    with app.state.database.reader() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(BulkUpload)).scalar_one() == 0
