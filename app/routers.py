"""Every API router, in the order they appear in the OpenAPI document."""

from app.accounts.router import router as accounts
from app.organizations.router import router as organizations
from app.reference.router import router as reference

ROUTERS = [accounts, reference, organizations]
