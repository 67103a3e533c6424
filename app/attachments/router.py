"""Endpoints of the attachments package."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
