"""What the faces in use cover, for ``/readyz`` and for ``make run``'s one-line hint."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from app.fonts.faces import FontUnavailable, form_fonts
from app.fonts.glyphs import code_point
from app.fonts.paths import RECOMMENDED

# What the documents print whatever the application says: ASCII (codes, numbers, e-mail, the tracking
# number and the verification URL), the marks, quotes and dashes, and every character of the printed
# templates (app/documents/form.py, pdf.py, facts.py, app/batches/receipt_pdf.py; a test keeps this list whole).
PRINTED = "".join(chr(c) for c in range(0x20, 0x7F)) + (
    "“”‘’—…·■□　、。（），：；〔〕《》％"
    "一七三上不与业为九书予事二五亦京人他代以件会位使保信修元八公六共其内写况冻准制办加务化北十单参可号各合同名"
    "含和四回域基填子字定容密导层年序开录征待态性情意或执扫批承报担指按排推描摘改效方无日旧时明月有服期未本条来"
    "标核次法清源点版状理用申电登的盖目码社离称章符第签算管箱系级纸线细经结统综编网署联至致范荐要见规证试话请诺"
    "质费退送邮钥间集零需页项预领验"
)


class FontFace(BaseModel):
    """One face (字体) of a printed document's chain."""

    family: str = Field(description="The face's family name, e.g. `AR PL UMing CN`")
    file: str = Field(description="The font file it is read from")


class FontsReadiness(BaseModel):
    """The faces form.pdf and receipt.pdf are printed with, tried character by character in this order."""

    available: bool = Field(description="A Chinese face was found: without one the PDFs answer 503 `font_unavailable`")
    body: list[FontFace] = Field(description="The body text's faces, in the order they are tried")
    title: list[FontFace] = Field(description="The title's and headings' faces, in the order they are tried")
    covers_printed: bool = Field(
        description="Every character of the printed templates, ASCII, the marks ■ □ and quotes has a glyph in both"
    )
    missing: list[str] = Field(description="Code points of those characters that no face has (`U+25A0`)")
    recommended: bool = Field(
        description="The official faces are installed (Debian `fonts-arphic-uming fonts-wqy-microhei`)"
    )


class Readiness(BaseModel):
    """The service is ready to serve (`GET /readyz`): its database and storage answer; the fonts it prints with."""

    status: Literal["ready"] = Field(description="`ready`: the database answers and the storage is writable")
    fonts: FontsReadiness = Field(description="The faces of the printed documents and what they cover")


def fonts_readiness(configured: Path | None, configured_title: Path | None) -> FontsReadiness:
    recommended = all(Path(p).is_file() for p in RECOMMENDED)
    try:
        fonts = form_fonts(configured, configured_title)
    except FontUnavailable:
        return FontsReadiness(
            available=False,
            body=[],
            title=[],
            covers_printed=False,
            missing=[],
            recommended=recommended,
        )
    missing = sorted({ch for chain in (fonts.body, fonts.title) for ch in chain.missing(PRINTED)})
    return FontsReadiness(
        available=True,
        body=[FontFace(family=f.family, file=f.file) for f in fonts.body.faces],
        title=[FontFace(family=f.family, file=f.file) for f in fonts.title.faces],
        covers_printed=not missing,
        missing=[code_point(ch) for ch in missing],
        recommended=recommended,
    )


def preload_fonts(configured: Path | None, configured_title: Path | None) -> None:
    """Choose the faces now, which loads them (a second or more, ~70 MiB): the service's first document
    is then not the one that waits. Without a Chinese face nothing happens; a document will say why."""
    try:
        form_fonts(configured, configured_title)
    except FontUnavailable:
        return
