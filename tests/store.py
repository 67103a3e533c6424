"""A fingerprint of the whole store, to prove a rejected request changed nothing."""

import hashlib

import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import SQLModel

import app.models  # noqa: F401


def fingerprint(application: FastAPI) -> str:
    digest = hashlib.sha256()
    with application.state.database.reader() as session:
        present = set(sa.inspect(session.get_bind()).get_table_names())
        for table in sorted(SQLModel.metadata.sorted_tables, key=lambda t: t.name):
            if table.name not in present or table.name in (
                "login_failures",
                "idempotency_keys",
                "access_tokens",
                "api_keys",
            ):
                continue  # bookkeeping of the caller's own requests, not the store's content
            rows = session.execute(sa.select(table)).all()
            digest.update(table.name.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()
