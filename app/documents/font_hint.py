"""``make run``'s one line when the official faces of the printed forms are absent.

``python -m app.documents.font_hint`` prints which Debian packages give the official look and what
prints meanwhile, or nothing when they are installed or ``SMPS_CJK_FONT`` names a font. It only looks
for files (no font is parsed, the service is not imported), so it costs a start of Python.
"""

from pathlib import Path

from app.core.settings import Settings
from app.fonts.paths import BODY_CANDIDATES, BODY_FALLBACKS, RECOMMENDED, TITLE_CANDIDATES


def _first(paths: tuple[str, ...]) -> str | None:
    # CFF-outline OpenType (Noto CJK) is listed last and cannot be embedded: not counted on here.
    return next((p for p in paths if Path(p).is_file() and p.lower().endswith((".ttf", ".ttc"))), None)


def hint(configured: Path | None) -> str:
    if configured is not None or all(Path(p).is_file() for p in RECOMMENDED):
        return ""
    packages = " ".join(RECOMMENDED.values())
    body = _first(BODY_CANDIDATES)
    if body is None:
        meanwhile = "there is no Chinese font: form.pdf and receipt.pdf answer 503 font_unavailable"
    else:
        title = _first(TITLE_CANDIDATES) or body
        latin = _first(BODY_FALLBACKS)
        meanwhile = f"they print with {Path(body).name}" + (f" and {Path(title).name}" if title != body else "")
        meanwhile += f", Latin letters and digits they lack from {Path(latin).name if latin else 'Vera.ttf'}"
    return f"Fonts: for the official look of the printed forms install the Debian packages {packages}; meanwhile {meanwhile}."


if __name__ == "__main__":
    line = hint(Settings().cjk_font)
    if line:
        print(line)
