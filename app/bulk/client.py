"""``smps client``: the service's API from scripts — bulk uploads with a report, and the change feed.

Exit codes: 0 no row invalid (each row created, updated, or a duplicate of an application already
there: uploading the same file again succeeds and creates nothing); 1 some rows invalid (or, in
all_or_nothing mode, nothing created because of them); 2 usage, authentication or other HTTP 4xx
errors; 3 the server or the network failed after retries.
"""

import functools
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec

import click
import httpx

from app.core.service_url import checked_service_root
from app.documents.cells import write_csv
from app.events.schemas import FEED_PAGE_SIZE

EXIT_OK, EXIT_INVALID_ROWS, EXIT_USAGE, EXIT_SERVER = 0, 1, 2, 3
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_TYPES = {".csv": "text/csv", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ClientFailure(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Api:
    """A small HTTP client with retries (connection errors, 5xx/503) and backoff."""

    def __init__(self, http: httpx.Client, retries: int = 5, backoff: float = 0.5) -> None:
        self.http, self.retries, self.backoff = http, retries, backoff

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 10.0))
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                last = f"network error: {type(exc).__name__}"
                continue
            if response.status_code in _RETRY_STATUSES:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise ClientFailure(_problem(response), EXIT_USAGE)
            return response
        raise ClientFailure(f"giving up after {self.retries + 1} attempts: {last}", EXIT_SERVER)


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    text = f"HTTP {response.status_code} {body.get('code', '')}: {body.get('detail') or body.get('title', '')}"
    for error in body.get("errors") or []:
        text += f"\n  {error.get('pointer')}: {error.get('message')}"
    return text


def _read_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ClientFailure(f"cannot read the API key file: {exc.strerror}", EXIT_USAGE) from None
    if not key:
        raise ClientFailure("the API key file is empty", EXIT_USAGE)
    return key


def service_root(url: str) -> str:
    """The service's base URL, checked before any request: a typo is a usage error now, not minutes of retries."""
    try:
        return checked_service_root(url)
    except ValueError as exc:
        raise ClientFailure(str(exc), EXIT_USAGE) from None


def _http(ctx: click.Context, url: str, key_file: Path) -> Api:
    url = service_root(url)
    key = _read_key(key_file)
    headers = {"Authorization": f"Bearer {key}", "User-Agent": "smps-client"}
    injected = (ctx.obj or {}).get("http")  # tests hand in a client bound to the app
    if injected is not None:
        injected.headers.update(headers)
        return Api(injected, retries=(ctx.obj or {}).get("retries", 5), backoff=(ctx.obj or {}).get("backoff", 0.5))
    return Api(httpx.Client(base_url=url, headers=headers, timeout=60.0))


P = ParamSpec("P")


def _exits_on_failure(command: Callable[P, None]) -> Callable[P, None]:
    """A command that prints a ``ClientFailure`` and exits with its code instead of a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except ClientFailure as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return run


@click.group(help="Use the service's API from scripts (bulk uploads, the change feed).")
def client() -> None:
    pass


_URL = click.option(
    "--url", required=True, envvar="SMPS_URL", help="Base URL of the service, e.g. http://127.0.0.1:8000"
)
_KEY = click.option(
    "--api-key-file",
    "key_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file holding the API key (smps_…)",
)


@client.command(help="Upload a CSV, XLSX or JSON file of applications, wait for it, and print the per-row report.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_URL
@_KEY
@click.option(
    "--mode",
    type=click.Choice(["all_or_nothing", "valid_rows", "upsert"]),
    default=None,
    help="Default all_or_nothing (or the mode inside a JSON file); upsert: a row matching a draft "
    "(same call, undertaking unit and title) updates it",
)
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Also write the report as CSV")
@click.option(
    "--all",
    "all_rows",
    is_flag=True,
    help="Report every row with its status: created, updated, duplicate, invalid or skipped (default: "
    "only invalid rows). `row` is the row's index as in the errors' "
    "pointers (/rows/<row>/…, the first data row is 0); `line` is its row number in the sheet or "
    "CSV file (the header is line 1, so the first data row is usually line 2)",
)
@click.option("--idempotency-key", default=None, help="Retries reuse it (one is generated when not given)")
@click.option("--poll-interval", default=0.5, show_default=True, type=float)
@click.pass_context
@_exits_on_failure
def upload(
    ctx: click.Context,
    file: Path,
    url: str,
    key_file: Path,
    mode: str | None,
    report: Path | None,
    all_rows: bool,
    idempotency_key: str | None,
    poll_interval: float,
) -> None:
    api = _http(ctx, url, key_file)
    # A key makes the POST safe to retry: a replay answers with the upload already made.
    headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
    suffix = file.suffix.lower()
    if suffix == ".json":
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ClientFailure(f"{file} is not valid JSON: {exc}", EXIT_USAGE) from None
        if isinstance(document, list):
            document = {"rows": document}
        if mode:
            document["mode"] = mode
        response = api.request("POST", "/api/v1/bulk-uploads", json=document, headers=headers)
    elif suffix in _TYPES:
        response = api.request(
            "POST",
            "/api/v1/bulk-uploads",
            headers=headers,
            files={"file": (file.name, file.read_bytes(), _TYPES[suffix])},
            data={"mode": mode or "all_or_nothing"},
        )
    else:
        raise ClientFailure("the file must be .csv, .xlsx or .json", EXIT_USAGE)
    body = response.json()
    upload_id = body["id"]
    click.echo(f"upload {upload_id}: {body['total_rows']} rows, mode {body['mode']}", err=True)
    body = _wait(api, upload_id, body, poll_interval)
    _print_report(body, all_rows)
    if report:
        _write_report(report, body, all_rows)
    if body["state"] == "failed":
        raise ClientFailure(f"the upload failed: {body.get('failure') or ''}", EXIT_SERVER)
    sys.exit(EXIT_OK if body["error_count"] == 0 else EXIT_INVALID_ROWS)


def _counts(body: dict[str, Any]) -> str:
    """``3 created, 0 updated, 16 duplicate, 1 invalid``: what became of the rows processed so far."""
    return (
        f"{body.get('created_count', 0)} created, {body.get('updated_count', 0)} updated, "
        f"{body.get('duplicate_count', 0)} duplicate, {body.get('error_count', 0)} invalid"
    )


def _wait(api: Api, upload_id: str, body: dict[str, Any], poll_interval: float) -> dict[str, Any]:
    with click.progressbar(
        length=max(body["total_rows"], 1),
        label="processing",
        file=sys.stderr,
        item_show_func=lambda counts: counts,
    ) as bar:
        shown = 0
        while body["state"] in ("queued", "running"):
            time.sleep(poll_interval)
            body = api.request("GET", f"/api/v1/bulk-uploads/{upload_id}").json()
            bar.update(body["processed_rows"] - shown, _counts(body))
            shown = body["processed_rows"]
        bar.update(body["total_rows"] - shown, _counts(body))
    return body


def _report_lines(body: dict[str, Any], all_rows: bool = False) -> list[dict[str, Any]]:
    lines = []
    for result in body["results"]:
        if not all_rows and result["status"] != "invalid":
            continue
        base = {
            "row": result["row"],
            "line": result.get("line") or "",
            "status": result["status"],
            "application_id": result.get("application_id") or "",
            "duplicate_of_row": "" if result.get("duplicate_of_row") is None else result["duplicate_of_row"],
        }
        errors = result.get("errors") or []
        if not errors:
            lines.append(base | {"column": "", "code": "", "pointer": "", "message": ""})
        for error in errors:
            lines.append(
                base
                | {
                    "column": error.get("header") or error.get("column") or "",
                    "code": error["code"],
                    "pointer": error["pointer"],
                    "message": error["message"],
                }
            )
    return lines


def _print_report(body: dict[str, Any], all_rows: bool) -> None:
    for line in _report_lines(body, all_rows):
        where = f"row {line['row']}" + (f" (line {line['line']})" if line["line"] else "")
        if line["code"]:
            detail = f"{line['column']}: {line['code']} {line['message']}".strip(": ")
        else:
            detail = line["application_id"]
            if line["duplicate_of_row"] != "":
                detail = f"{detail} (as row {line['duplicate_of_row']})".strip()
        click.echo(f"{where}\t{line['status']}\t{detail}")
    omitted = body.get("omitted_error_count") or 0
    click.echo(
        f"{body['state']}: {_counts(body)}, {body['total_rows']} rows"
        + (f" ({omitted} more errors not listed)" if omitted else ""),
        err=True,
    )


def _write_report(path: Path, body: dict[str, Any], all_rows: bool) -> None:
    fields = ["row", "line", "status", "application_id", "column", "code", "pointer", "message", "duplicate_of_row"]
    rows = ([line[f] for f in fields] for line in _report_lines(body, all_rows))
    path.write_bytes(write_csv(fields, rows))  # formula-safe: messages and headers come from the uploaded file


@client.command(help="Print events of the change feed as JSON lines; --follow keeps polling.")
@_URL
@_KEY
@click.option("--follow", is_flag=True, help="Keep polling for new events")
@click.option("--types", default=None, help="Comma-separated event types, e.g. application.created,batch.submitted")
@click.option("--after", default=None, help="Start after this cursor (default: the beginning)")
@click.option("--application-id", default=None, help="Only this application's history (app_…)")
@click.option(
    "--batch-id", default=None, help="Only this recommended list's events and those of the applications in it (bat_…)"
)
@click.option("--page-size", default=FEED_PAGE_SIZE, show_default=True, type=click.IntRange(1, FEED_PAGE_SIZE))
@click.option("--poll-interval", default=2.0, show_default=True, type=float)
@click.option("--max-pages", default=None, type=int, hidden=True)
@click.pass_context
@_exits_on_failure
def events(
    ctx: click.Context,
    url: str,
    key_file: Path,
    follow: bool,
    types: str | None,
    after: str | None,
    application_id: str | None,
    batch_id: str | None,
    page_size: int,
    poll_interval: float,
    max_pages: int | None,
) -> None:
    api = _http(ctx, url, key_file)
    pages = 0
    filters = {"types": types, "application_id": application_id, "batch_id": batch_id}
    while True:
        params: dict[str, Any] = {"page_size": page_size, **{k: v for k, v in filters.items() if v}}
        if after:
            params["after"] = after
        page = api.request("GET", "/api/v1/events", params=params).json()
        for item in page.get("items") or []:
            click.echo(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        after = page.get("next_cursor") or after
        pages += 1
        if max_pages is not None and pages >= max_pages:
            return
        if not page.get("has_more"):
            if not follow:
                return
            time.sleep(poll_interval)
