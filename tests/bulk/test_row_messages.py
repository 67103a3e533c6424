"""Row errors of a bulk file in the reader's language: the item of a multi-value cell is named, Chinese
labels in zh, codes and pointers the same in both languages."""

import csv
import io

from tests.applications.cast import make_cast
from tests.bulk.test_bulk import URL, cells_of, post_file

BAD_ROWS = {
    0: {"eligibility": "1;2;5"},
    1: {"eligibility": "1;x;3;4"},
    2: {"standards": "GB/T 1-2020|标准化工作导则|national|existing\n|网上办事服务规范|local|current"},
    3: {"participating": "{participating};org_nosuchunit"},
    4: {"period_start": "2027-02-30", "period_end": "2028-12-31"},
    5: {"period_start": "2024-12-31", "period_end": "2023-01-01"},
}

# row → (pointer, code, zh, en)
EXPECTED = {
    0: (
        "/rows/0/eligibility",
        "unknown_condition",
        "第 3 项：本批次没有第 5 条基本条件",
        "item 3: The call has no eligibility condition 5",
    ),
    1: ("/rows/1/eligibility", "wrong_type", "第 2 项：应为整数", "item 2: Must be an integer"),
    2: (
        "/rows/2/standards",
        "invalid_choice",
        "第 2 条标准：取值不在允许范围内：现行（existing）、待制定（to_be_drafted）",
        "standard 2: Must be one of 'existing' or 'to_be_drafted'",
    ),
    3: ("/rows/3/participating", "unknown_organization", "第 2 项：单位不存在", "item 2: No such organization"),
    4: ("/rows/4/period_start", "invalid_date", "日期不存在：2027-02-30", "No such date: 2027-02-30"),
    5: (
        "/rows/5/period_end",
        "period_not_ordered",
        "试点期结束日期须晚于开始日期",
        "The pilot period must end after it starts",
    ),
}


async def test_row_errors_name_the_item_and_speak_the_readers_language(app, client):
    cast = await make_cast(app, client)
    rows = []
    for i in range(len(BAD_ROWS)):
        cells = cells_of(cast.form(title=f"济南市历下区第{i}号标准化试点"))
        cells.update({k: v.format(participating=cast.participating) for k, v in BAD_ROWS[i].items()})
        rows.append(cells)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    done = await post_file(client, cast, "申请.csv", out.getvalue().encode(), "text/csv", "valid_rows")
    assert done["created_count"] == 0, done
    url = f"{URL}/{done['id']}"
    zh = (await client.get(url, headers={**cast.applicant.headers, "Accept-Language": "zh-CN"})).json()["results"]
    en = (await client.get(url, headers={**cast.applicant.headers, "Accept-Language": "en"})).json()["results"]
    for row, (pointer, code, zh_message, en_message) in EXPECTED.items():
        assert [(e["pointer"], e["code"], e["message"]) for e in zh[row]["errors"]] == [(pointer, code, zh_message)], (
            row
        )
        assert [(e["pointer"], e["code"], e["message"]) for e in en[row]["errors"]] == [(pointer, code, en_message)], (
            row
        )
