"""Endpoints of the bulk package."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
