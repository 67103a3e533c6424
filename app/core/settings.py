"""Service settings, read once from the environment (prefix ``SMPS_``)."""

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMPS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/smps.db"
    storage_dir: Path = Path("./var/files")
    token_lifetime_minutes: int = Field(default=480, ge=1, le=60 * 24 * 30)
    # Failed logins allowed per user, and per client address, within the window.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    max_json_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    # Key for signing batch receipts (HMAC-SHA256); set it in production.
    receipt_signing_key: str = "smps-development-receipt-key"
    log_level: str = "INFO"

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
