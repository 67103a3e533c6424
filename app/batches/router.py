"""Endpoints of the batches package."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
