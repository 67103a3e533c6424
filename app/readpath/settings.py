"""How much the read path keeps per process, read from the environment (prefix ``SMPS_``) as ``Settings`` is."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReadPathSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMPS_", env_file=".env", extra="ignore")

    # Encoded bodies of GET /applications/{id}: about 3,000 of a full-size form, the applications being
    # worked on at once in a province's busiest hour.
    read_bodies_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # Stored forms at hand: some 250 of full size, the ones a province's reviewers print on deadline day.
    read_forms_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # API keys resolved before, and the organizations printed on frozen applications' forms.
    read_key_hints: int = Field(default=10_000, ge=0)
    read_form_parties: int = Field(default=10_000, ge=0)
