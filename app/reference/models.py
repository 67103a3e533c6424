"""Calls for applications (征集批次) with their catalogue, conditions and form sections."""

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.types import json_column, utc_column


class Call(SQLModel, table=True):
    __tablename__ = "calls"

    id: str = Field(primary_key=True, max_length=32)
    key: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    notice_number: str = Field(max_length=100)
    issue_date: date
    deadline: datetime = utc_column()
    # [{code, name, name_en, open_ended, children: [...]}] — fields, areas, sub-items
    catalogue: list[dict[str, Any]] = json_column(list)
    # [{number, text, text_en}]
    conditions: list[dict[str, Any]] = json_column(list)
    # [{key, title, title_en, required, max_length}]
    sections: list[dict[str, Any]] = json_column(list)
    # {kind: {required, max_count, description}} — attachment kinds and their rules
    attachment_rules: dict[str, Any] = json_column(dict)
    # Maximum number of applications on one recommender's list (None: no quota).
    quota_per_recommender: int | None = None
    is_practice: bool = False
    # Where a recommender sends the list and papers (the notice's 联系人、电话、邮寄地址):
    # {unit, persons[], phones[], fax, address, postcode, electronic_route}; {} when not given.
    contact: dict[str, Any] = json_column(dict)
    version: int = 1
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
