"""The faces moved to ``app.fonts.faces`` (the receipts print with them too); this name stays for
``app.documents.form_cache`` until it imports them from there."""

from app.fonts.faces import FormFonts as FormFonts
