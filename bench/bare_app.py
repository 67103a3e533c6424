"""The reference for read speed: a bare FastAPI endpoint returning a constant dict of the same size."""

import os

import orjson
from fastapi import FastAPI

app = FastAPI()
PAYLOAD = orjson.loads(os.environ.get("SMPS_BENCH_PAYLOAD", "{}"))


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/constant")
def constant() -> dict:
    return PAYLOAD
