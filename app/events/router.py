"""Endpoints of the events package."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
