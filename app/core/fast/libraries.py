"""Small reaches into private parts of libraries, each where the library has no public way to do it.

The locked versions (uv.lock) are the ones these were written against; a test exercising each path
(webhook delivery, XLSX uploads) fails if a new version moves the attribute.
"""

from typing import Any

import httpcore
import httpx
from starlette.requests import Request


def use_pool(transport: httpx.HTTPTransport, pool: httpcore.ConnectionPool) -> httpx.HTTPTransport:
    """``transport`` (httpx's error mapping, TLS and pooling) sending through ``pool``.

    httpx builds its httpcore pool without a network-backend parameter; webhook delivery needs one
    that connects only to the addresses it checked (app.events.addresses).
    """
    transport._pool = pool
    return transport


def xlsx_sheet_parser(source: Any, shared_strings: Any, workbook: Any) -> Any:
    """openpyxl's own sheet parser over ``source``, set up as its reader sets it up (values, not formulas).

    The bulk XLSX reader drives ``WorkSheetParser`` (a private module) directly: the read-only
    worksheet pads rows and trusts the declared dimension. The date and duration formats it needs are
    kept on the workbook privately.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    return WorkSheetParser(
        source,
        shared_strings,
        data_only=True,
        epoch=workbook.epoch,
        date_formats=workbook._date_formats,
        timedelta_formats=workbook._timedelta_formats,
    )


def body_received(request: Request) -> bool:
    """Whether Starlette has read ``request``'s body already (kept on the request, or its stream consumed);
    Starlette has no public way to ask. The write gate (``app.core.deps``) reads what is left first."""
    return hasattr(request, "_body") or bool(getattr(request, "_stream_consumed", False))
