"""Operators' tools: backups of the database (``smps backup``)."""
