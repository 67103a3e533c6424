"""Bulk uploads insert their rows with the service's fast multi-row insert (``app.core.fast.inserts``)."""

from app.core.fast.inserts import insert_many

__all__ = ["insert_many"]
