"""What other parts ask of an application's attachments, answered from the attachment table alone.

They live with the application workflow (``app.applications.attached``), which reads them and must
not depend on this package; they are named here too for the batches package and older callers.
"""

from app.applications.attached import attachment_belongs as attachment_belongs
from app.applications.attached import attachment_digests as attachment_digests
from app.applications.attached import missing_required_kinds as missing_required_kinds
