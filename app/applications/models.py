"""Tables of the application aggregate: the form, its parties, sign-offs, reviews and history."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import AutoString, Field, SQLModel

from app.applications.states import State
from app.core.types import json_column, utc_column


class Application(SQLModel, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        sa.Index("ix_applications_recommender_state_created", "recommender_id", "state", "created_at", "id"),
        sa.Index("ix_applications_undertaking_created", "undertaking_org_id", "created_at", "id"),
        sa.Index("ix_applications_created", "created_at", "id"),
        # Bulk uploads find the application a row duplicates by its unit, call and title.
        sa.Index("ix_applications_undertaking_call_title", "undertaking_org_id", "call_id", "title"),
    )

    id: str = Field(primary_key=True, max_length=32)
    call_id: str = Field(foreign_key="calls.id", max_length=32, index=True)
    title: str = Field(max_length=200)
    # Stored as its text (VARCHAR), as every revision since the first has it; read back as that text.
    state: State = Field(sa_type=AutoString(length=32), index=True)
    version: int = 1
    undertaking_org_id: str = Field(foreign_key="organizations.id", max_length=32)
    recommender_id: str | None = Field(default=None, foreign_key="organizations.id", max_length=32)
    province_code: str = Field(max_length=6, index=True)
    domain_area: str | None = Field(default=None, max_length=16, index=True)
    # The whole form as submitted by the client (domain, parties, contact, period, sections, …).
    content: dict[str, Any] = json_column(dict)
    # SHA-256 of the canonical content and attachment digests, frozen at submit.
    content_digest: str | None = Field(default=None, max_length=64)
    # Set when a recommender's reviewer entered a paper application on the unit's behalf.
    entered_by_org_id: str | None = Field(default=None, foreign_key="organizations.id", max_length=32)
    created_by: str = Field(foreign_key="users.id", max_length=32)
    outcome_document_number: str | None = Field(default=None, max_length=100)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column(index=True)
    submitted_at: datetime | None = utc_column(nullable=True)


class ApplicationParty(SQLModel, table=True):
    """The organizations named on an application, one row per party; drives signatory visibility."""

    __tablename__ = "application_parties"
    __table_args__ = (sa.Index("ix_application_parties_org_app", "organization_id", "application_id"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="applications.id", max_length=32, index=True, ondelete="CASCADE")
    role: str = Field(max_length=20)  # undertaking | participating | guarantor | guidance
    organization_id: str = Field(foreign_key="organizations.id", max_length=32)
    position: int = 0


class Endorsement(SQLModel, table=True):
    """One party's sign-off, bound to the content digest it approved."""

    __tablename__ = "endorsements"

    id: str = Field(primary_key=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", max_length=32, index=True, ondelete="CASCADE")
    party_role: str = Field(max_length=20)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32)
    decision: str = Field(max_length=16)  # agree | disagree
    opinion: str = Field(max_length=2000)
    signatory_name: str = Field(max_length=100)
    signatory_title: str | None = Field(default=None, max_length=100)
    mode: str = Field(max_length=16)  # online | paper
    # Paper sign-off: the scanned stamped page.
    attachment_id: str | None = Field(default=None, max_length=32)
    # Paper sign-off: pending | confirmed | rejected by the recommender's reviewer.
    verification: str | None = Field(default=None, max_length=16)
    verified_by: str | None = Field(default=None, max_length=32)
    verified_at: datetime | None = utc_column(nullable=True)
    verification_comment: str | None = Field(default=None, max_length=2000)
    content_digest: str = Field(max_length=64)
    recorded_by: str = Field(foreign_key="users.id", max_length=32)
    recorded_at: datetime = utc_column()
    # Set when the application went back to an editable state: the sign-off no longer counts.
    voided_at: datetime | None = utc_column(nullable=True)


class Review(SQLModel, table=True):
    __tablename__ = "reviews"

    id: str = Field(primary_key=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", max_length=32, index=True, ondelete="CASCADE")
    recommender_id: str = Field(foreign_key="organizations.id", max_length=32)
    decision: str = Field(max_length=16)  # recommend | return | reject
    opinion: str | None = Field(default=None, max_length=2000)
    reviewer_id: str = Field(foreign_key="users.id", max_length=32)
    content_digest: str | None = Field(default=None, max_length=64)
    recorded_at: datetime = utc_column()


class Transition(SQLModel, table=True):
    """The history of an application's states: who moved it, when, from, to, and why."""

    __tablename__ = "transitions"

    id: str = Field(primary_key=True, max_length=32)
    application_id: str = Field(foreign_key="applications.id", max_length=32, index=True, ondelete="CASCADE")
    action: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    actor_id: str | None = Field(default=None, max_length=32)
    comment: str | None = Field(default=None, max_length=2000)
    at: datetime = utc_column()
