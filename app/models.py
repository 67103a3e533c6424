"""Imports every table module so SQLModel.metadata knows the whole schema (Alembic reads it)."""

from app.accounts import models as _accounts  # noqa: F401
from app.applications import models as _applications  # noqa: F401
from app.attachments import models as _attachments  # noqa: F401
from app.attachments import sweep_models as _sweeps  # noqa: F401
from app.batches import models as _batches  # noqa: F401
from app.bulk import models as _bulk  # noqa: F401
from app.core import idempotency_models as _idempotency  # noqa: F401
from app.core import outbox_models as _outbox  # noqa: F401
from app.events import audiences as _audiences  # noqa: F401  (writes the feed's entries with the events)
from app.events import models as _events  # noqa: F401
from app.mail import models as _mail  # noqa: F401
from app.organizations import models as _organizations  # noqa: F401
from app.reference import models as _reference  # noqa: F401
