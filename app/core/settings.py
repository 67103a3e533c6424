"""Service settings, read once from the environment (prefix ``SMPS_``)."""

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, IPvAnyNetwork, SecretStr, StringConstraints, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_RECEIPT_KEY = "smps-development-receipt-key"
CorsOrigin = Annotated[str, StringConstraints(pattern=r"^https?://[^/?#@\s]+$")]
AttachmentType = Literal["pdf", "ofd", "docx", "xlsx", "jpeg", "png"]


# An HTTP field name (RFC 9110 §5.1: a token).
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")]


def _comma_list(value: Any) -> Any:
    """``pdf,ofd,png`` from the environment → ``["pdf", "ofd", "png"]``."""
    if isinstance(value, str):
        return [part.strip().lower() for part in value.split(",") if part.strip()]
    return value


def _all_attachment_types() -> list[AttachmentType]:
    return ["pdf", "ofd", "docx", "xlsx", "jpeg", "png"]


class Settings(BaseSettings):
    # Errors name the setting, never its value (SMPS_SMTP_URL and others may hold a password).
    model_config = SettingsConfigDict(env_prefix="SMPS_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite:///./var/smps.db"
    storage_dir: Path = Path("./var/files")
    token_lifetime_minutes: int = Field(default=480, ge=1, le=60 * 24 * 30)
    # Failed logins allowed per (account, client address), and per client address, within the window.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    # After this many failures of one account in the window (from any address), each further try waits
    # 1, 2, 4… seconds (at most the maximum) after the latest failure: a guess spread over many addresses
    # is slowed, yet no one can lock the account for everyone: addresses the account signed in from before
    # are never slowed, and a success there (or an API key's use) lifts the backoff.
    login_account_backoff_after: int = Field(default=10, ge=1)
    login_account_backoff_max_seconds: int = Field(default=60, ge=1)
    # Proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client; unset:
    # the connecting peer is the client and X-Forwarded-For is ignored.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode, BeforeValidator(_comma_list)] = Field(
        default_factory=list
    )
    max_json_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Form-encoded bodies (the token endpoint); the header section `smps serve` accepts (431 beyond).
    max_form_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_header_bytes: int = Field(default=64 * 1024, ge=8 * 1024)
    # Deadlines on the wire (`smps serve`, app/web/serving.py): a request's headers must be complete this
    # long after its first byte (408 beyond); while a body is read, every window must bring at least
    # body_min_bytes (408 beyond); an idle kept-alive connection is closed after keep_alive_seconds; a
    # process holds at most max_connections open connections (503 and closed beyond).
    header_timeout_seconds: float = Field(default=20.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    body_min_bytes: int = Field(default=16 * 1024, ge=1)
    keep_alive_seconds: int = Field(default=5, ge=1)
    max_connections: int = Field(default=4096, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    # PostgreSQL connections opened beyond the pool under load (closed again when returned). A process runs
    # up to a thread pool of requests (40) plus the writes admitted on the event loop (half of that), each
    # holding a connection: the pool must cover them all, or requests wait for a connection inside the
    # threads the connection holders need, and fail after the pool timeout.
    db_max_overflow: int = Field(default=60, ge=0)
    # "production" refuses to start with development keys or defaults that weaken security (app/web/production.py).
    environment: Literal["development", "production"] = "development"
    # Receipt signing keys (PEM files, see app/batches/keystore.py); unset: "receipt-keys" beside storage_dir.
    receipt_keys_dir: Path | None = None
    # Where the service is reached from outside, for the verification URL on printed receipts; unset: the request's.
    public_base_url: str | None = None
    # Only to verify receipts issued before public-key signatures (HMAC-SHA256); unset: the development key,
    # which production refuses.
    receipt_signing_key: str = DEVELOPMENT_RECEIPT_KEY
    # A TrueType (or .ttc) font with Chinese glyphs for printable forms; unset: common system paths are searched.
    cjk_font: Path | None = None
    # The heavier face for the form's title and headings (黑体 style); unset: searched, else the body font.
    cjk_title_font: Path | None = None
    # Load the fonts when the service starts (in the background) rather than with the first document
    # printed: ~70 MiB per process either way, but the first PDF and package download are not slowed by it.
    preload_fonts: bool = True
    # Level of the "smps" loggers (one JSON line per request at info): debug, info, warning, error.
    log_level: str = "INFO"
    # `smps serve --workers N`: how long a worker may take to answer its supervisor's ping before it is
    # killed and replaced (uvicorn's default of 5 s kills workers still importing on a loaded host).
    worker_healthcheck_seconds: int = Field(default=30, ge=1)
    # Bearer token a Prometheus scraper sends to GET /metrics (admins may read it with their own credentials).
    metrics_token: SecretStr | None = None
    # Attachments: limits enforced while the upload is read; types judged by the file's content.
    max_attachment_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_application_attachments_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    # Image decodes and PDF checks of uploads running at once in one process (a 49-megapixel PNG holds
    # some 150 MB while it is decoded); the others wait their turn without holding a thread.
    max_concurrent_file_checks: int = Field(default=2, ge=1)
    # Comma-separated in the environment: SMPS_ALLOWED_ATTACHMENT_TYPES=pdf,ofd,jpeg
    allowed_attachment_types: Annotated[list[AttachmentType], NoDecode, BeforeValidator(_comma_list)] = Field(
        default_factory=_all_attachment_types
    )
    # Where attachment files live: "filesystem" (under storage_dir) or "s3" (an S3-compatible bucket).
    blob_backend: Literal["filesystem", "s3"] = "filesystem"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_prefix: str = "attachments/"
    # Unset: boto3's usual sources (AWS_ACCESS_KEY_ID…, ~/.aws, instance roles).
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # The storage sweep leaves files younger than this alone (uploads in flight, rows not yet committed).
    storage_sweep_grace_seconds: int = Field(default=3600, ge=0)
    # How often a long-running worker sweeps; however many run, one process sweeps the store per interval.
    storage_sweep_interval_seconds: float = Field(default=3600, gt=0)
    # Change feed: events older than this many days are pruned by the worker (None keeps them all).
    event_retention_days: int | None = Field(default=None, ge=1)
    # Webhooks: hosts or addresses (comma-separated; CIDR ranges allowed) that may receive deliveries
    # although they resolve to loopback, private or link-local addresses, e.g. "127.0.0.1".
    webhook_allowed_hosts: str = ""
    # Webhooks one user may subscribe at a time.
    max_webhooks_per_user: int = Field(default=10, ge=1)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # A claimed delivery not recorded within this time is due again (its worker is presumed dead). At
    # least three timeouts (connecting, sending and the answer are each bounded by one), so a live
    # worker always records its attempt before another may take the delivery.
    webhook_lease_seconds: float = Field(default=120.0, gt=0)
    # What the hot read path keeps per process (app/readpath). Encoded bodies of GET /applications/{id}:
    # about 3,000 of a full-size form, the applications being worked on at once in a province's busiest hour.
    read_bodies_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # Stored forms at hand: some 250 of full size, the ones a province's reviewers print on deadline day.
    read_forms_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # API keys resolved before, and the organizations printed on frozen applications' forms.
    read_key_hints: int = Field(default=10_000, ge=0)
    read_form_parties: int = Field(default=10_000, ge=0)
    # Finished webhook deliveries (and their attempts) are kept this many days.
    webhook_delivery_retention_days: int = Field(default=30, ge=1)
    # How long a stored response to an Idempotency-Key is replayed.
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # An Idempotency-Key in flight is leased for this long and renewed while its request runs: when the
    # process dies mid-request, a retry with the key proceeds once the lease has run out.
    idempotency_lease_seconds: float = Field(default=10.0, ge=1, le=300)
    # Notices by e-mail (app.mail; docs/notifications.md): off while SMPS_SMTP_URL is unset.
    # smtp://host:port (plain; ?starttls=true upgrades with STARTTLS), smtps://host:port (TLS from the
    # start); credentials in the URL (smtp://user:pass@host) or in SMPS_SMTP_USERNAME/SMPS_SMTP_PASSWORD.
    smtp_url: SecretStr | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # The From of every notice, e.g. "试点申报系统 <noreply@example.cn>".
    mail_from: str = "smps@localhost"
    # A claimed mail not recorded within this time is due again (its worker is presumed dead).
    mail_lease_seconds: float = Field(default=300.0, gt=0)
    # Attempts before a mail is given up as failed (backoff between them: app.mail.delivery).
    mail_max_attempts: int = Field(default=8, ge=1, le=20)
    # The worker's pause when it found nothing to do.
    worker_poll_seconds: float = Field(default=1.0, gt=0)

    # Bulk uploads: the largest body (JSON, CSV or XLSX) and number of rows accepted; rows applied per
    # transaction in valid_rows mode; how long a runner holds an upload; tries before it is marked failed.
    max_bulk_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_bulk_upload_rows: int = Field(default=20000, ge=1)
    bulk_chunk_rows: int = Field(default=1000, ge=1)
    bulk_lease_seconds: int = Field(default=300, ge=1)
    bulk_max_attempts: int = Field(default=3, ge=1)
    # Bulk files are parsed as a stream and refused at the first limit passed: columns, characters in
    # one cell, non-empty cells in all, and for XLSX the inflated size of the archive and the ratio of
    # any large entry (zip bombs). At most max_bulk_listed_errors row errors are listed per upload.
    max_bulk_upload_columns: int = Field(default=64, ge=1)
    max_bulk_cell_chars: int = Field(default=32 * 1024, ge=256)
    max_bulk_upload_cells: int = Field(default=600_000, ge=1)
    max_bulk_xlsx_inflated_bytes: int = Field(default=128 * 1024 * 1024, ge=1024 * 1024)
    max_bulk_xlsx_compression_ratio: int = Field(default=100, ge=2)
    # Each XLSX part other than a worksheet ([Content_Types].xml, workbook.xml, sharedStrings.xml,
    # styles, relationships) once inflated: such parts are parsed whole, not as a stream.
    max_bulk_xlsx_part_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    max_bulk_listed_errors: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> "Settings":
        if self.webhook_lease_seconds < 3 * self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must be at least three times webhook_timeout_seconds")
        if self.mail_lease_seconds < 3 * self.smtp_timeout_seconds:
            raise ValueError("mail_lease_seconds must be at least three times smtp_timeout_seconds")
        if self.smtp_url is not None:
            from app.core.smtp_url import parse_smtp_url

            parse_smtp_url(self.smtp_url.get_secret_value())  # ValueError: refused at start
        return self

    @property
    def mail_enabled(self) -> bool:
        return self.smtp_url is not None and bool(self.smtp_url.get_secret_value())

    @cached_property
    def keys_dir(self) -> Path:
        return self.receipt_keys_dir or self.storage_dir.parent / "receipt-keys"

    # Browser frontends on other origins: SMPS_CORS_ORIGINS=https://a.example.cn,http://localhost:5173
    # (exact origins, scheme://host[:port]; empty: CORS off).
    cors_origins: Annotated[list[CorsOrigin], NoDecode, BeforeValidator(_comma_list)] = Field(default_factory=list)
    # Request headers a listed origin may send beyond the standard ones and the tracing headers
    # (app.web.cors): SMPS_CORS_ALLOW_HEADERS=x-client-version,x-tenant
    cors_allow_headers: Annotated[list[HeaderName], NoDecode, BeforeValidator(_comma_list)] = Field(
        default_factory=list
    )

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def legacy_key(settings: Settings) -> str | None:
    """The HMAC key of receipts issued before public-key signatures; production never uses the development one."""
    if settings.environment == "production" and settings.receipt_signing_key == DEVELOPMENT_RECEIPT_KEY:
        return None
    return settings.receipt_signing_key
