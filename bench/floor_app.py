"""The floor for read speed: the framework doing no work, an ``async def`` endpoint returning bytes encoded once."""

import os

from fastapi import FastAPI, Response

app = FastAPI()
BODY = os.environ.get("SMPS_BENCH_PAYLOAD", "{}").encode()


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@app.get("/constant")
async def constant() -> Response:
    return Response(BODY, media_type="application/json", headers={"ETag": '"1"'})
