"""Every API router, in the order they appear in the OpenAPI document."""

from app.accounts.router import router as accounts
from app.applications.router import router as applications
from app.attachments.router import router as attachments
from app.batches.router import router as batches
from app.bulk.router import router as bulk
from app.documents.deliver_router import router as deliver
from app.documents.router import router as documents
from app.events.router import router as events
from app.organizations.router import router as organizations
from app.reference.router import router as reference

ROUTERS = [accounts, reference, organizations, applications, attachments, batches, documents, deliver, events, bulk]
