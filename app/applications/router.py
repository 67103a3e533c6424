"""Endpoints of the applications package."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
