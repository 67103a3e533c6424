"""calls carry their contact persons and postal address (the notice's 联系人、电话、邮寄地址)

Revision ID: d001
Revises: w1830
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d001"
down_revision: str | Sequence[str] | None = "w1830"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 国标委发〔2022〕35号 gives them (四、其他事项); kept here, not imported, so the revision never changes.
CONTACT_9TH = {
    "unit": "市场监管总局标准技术司",
    "persons": ["董艳", "王斌"],
    "phones": ["010-82261022", "010-82260669"],
    "fax": "010-82260667",
    "address": "北京市东城区安定门外大街56号",
    "postcode": "100011",
    "electronic_route": "“市场监管总局工作门户”—“公文交换系统”—“上报公文”—“发送”—“标准技术司”",
}
PRACTICE_CONTACT = {
    "unit": "演示联席办公室",
    "persons": ["练习联系人"],
    "phones": ["010-00000000"],
    "address": "北京市东城区演示路1号",
    "postcode": "100000",
    "electronic_route": "演示：通过本系统下载电子版（package.zip）报送",
}


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("contact", sa.JSON(), nullable=False, server_default="{}"))
    calls = sa.table("calls", sa.column("key", sa.String), sa.column("contact", sa.JSON))
    for key, contact in (("9th-batch", CONTACT_9TH), ("practice", PRACTICE_CONTACT)):
        op.execute(calls.update().where(calls.c.key == key).values(contact=contact))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("contact")
