"""The printed list's file (推荐清单), and the faces and verification URL a request prints with."""

from fastapi import Request
from sqlalchemy.orm import Session

from app.accounts.principal import Principal
from app.batches.models import Batch
from app.batches.receipt_pdf import qr_payload
from app.documents.form_cache import form_files
from app.documents.list_pdf import list_digest, render_list
from app.documents.listing import printed_list, submitted_receipt
from app.fonts.faces import FormFonts, form_fonts


def request_fonts(request: Request) -> FormFonts:
    settings = request.app.state.settings
    return form_fonts(settings.cjk_font, settings.cjk_title_font)


def verify_url(request: Request) -> str:
    base = (request.app.state.settings.public_base_url or str(request.base_url)).rstrip("/")
    return f"{base}/api/v1/receipt-keys"


def list_file(
    session: Session, batch: Batch, principal: Principal | None, request: Request, fonts: FormFonts | None = None
) -> tuple[bytes, str]:
    """The printed list and its digest; a submitted list's file is kept in the form store, as forms are."""
    fonts, receipt = fonts or request_fonts(request), submitted_receipt(session, batch)
    qr = qr_payload(receipt.document, receipt.digest, verify_url(request)) if receipt else None
    printed = printed_list(session, batch, principal, receipt, qr)
    digest = list_digest(printed, fonts)
    if printed.draft:
        return render_list(printed, fonts), digest
    files = form_files(request.app)
    content = files.kept(digest) or files.cached(digest)
    if content is None:
        content = render_list(printed, fonts)
        files.keep(digest, content)
    return content, digest
