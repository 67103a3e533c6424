"""Finding the faces that print the service's documents (TrueType outlines reportlab can embed; CFF-based OTF won't do).

The form is set like an official paper: a 宋体/明体-style serif for the body (AR PL UMing, Debian
``fonts-arphic-uming``) and a heavier 黑体-style face for titles and headings (WenQuanYi Micro Hei,
``fonts-wqy-microhei``). Noto Serif CJK (``fonts-noto-cjk``) would look the part but ships CFF outlines,
which reportlab cannot embed.

Each Chinese face is followed by faces for what it may lack (``app.fonts.glyphs``): DejaVu when the
system has it, then reportlab's own Bitstream Vera (Latin letters, digits, “ ” — …), which always ships
with the service, then the service's own marks font (■ □). Droid Sans Fallback, often the only Chinese
font of a fresh Debian machine, has no Latin letter nor digit: they come from those faces.

The faces are looked up again at most every ``RECHECK_SECONDS`` (a few ``stat`` calls), so fonts
installed or removed while the service runs are taken without a restart; forms stored before name the
faces they were set with (``FormFonts.fingerprint``), so none set with other faces is served again.
"""

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.core.errors import AppError
from app.core.i18n import Text
from app.fonts.glyphs import Face, FontChain, code_point
from app.fonts.paths import (
    BODY_CANDIDATES,
    BODY_FALLBACKS,
    MARKS,
    TITLE_CANDIDATES,
    TITLE_FALLBACKS,
)

RECHECK_SECONDS = 30.0


class FontUnavailable(AppError):
    status = 503
    code = "font_unavailable"
    title = Text("缺少字体，无法生成文件", "No font available to render the document")


@dataclass(frozen=True, slots=True)
class FormFonts:
    """The faces for the body and for titles and headings, each a chain tried per character."""

    body: FontChain
    title: FontChain
    fingerprint: str  # the faces, their files' names and sizes: part of a stored form's stamp

    @property
    def faces(self) -> list[Face]:
        return list({f.file: f for f in (*self.body.faces, *self.title.faces)}.values())

    def require(self, texts: "list[str] | tuple[str, ...]", chain: FontChain | None = None) -> None:
        """503 ``font_unavailable`` naming the characters of ``texts`` that no face of the chain has."""
        chains = (chain,) if chain else (self.body, self.title)
        text = "".join(texts)
        missing = sorted({ch for c in chains for ch in c.missing(text)})
        if missing:
            raise unavailable(missing, [f.file for c in chains for f in c.faces])


def unavailable(missing: list[str], tried: list[str]) -> FontUnavailable:
    points = [code_point(ch) for ch in missing]
    shown = " ".join(points[:20]) + (" …" if len(points) > 20 else "")
    return FontUnavailable(
        Text(
            "已安装的字体都没有这些字符：{chars}（已尝试：{fonts}）",
            "No installed font has these characters: {chars} (tried: {fonts})",
        ),
        extra={"characters": points, "fonts_tried": list(dict.fromkeys(tried))},
        chars=shown,
        fonts="、".join(dict.fromkeys(tried)),
    )


_lock = threading.Lock()
_registered: dict[tuple[str, int, float], Face] = {}
# The faces chosen for each configuration, with the state of the files they were chosen from and when
# that was last looked at. Not kept when there is none, so a font installed later is found at once.
_chosen: dict[tuple[Path | None, Path | None], tuple[FormFonts, tuple[object, ...], float]] = {}


def _state(path: str) -> tuple[int, float] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime


def _register(path: str) -> Face | None:
    state = _state(path)
    if state is None:
        return None
    key = (path, *state)
    face = _registered.get(key)
    if face is not None:
        return face
    name = f"SmpsFont{len(_registered)}"
    try:
        font = TTFont(name, path, subfontIndex=0) if path.lower().endswith(".ttc") else TTFont(name, path)
        pdfmetrics.registerFont(font)
    except Exception:  # unreadable or PostScript-outline font: try the next one
        return None
    family = font.face.familyName
    face = Face(
        name,
        path,
        family.decode("utf-8", "replace") if isinstance(family, bytes) else str(family),
        frozenset(font.face.charToGlyph),
    )
    _registered[key] = face
    return face


def _first(paths: tuple[str, ...]) -> Face | None:
    return next((face for face in map(_register, paths) if face is not None), None)


def _looked_at(configured: Path | None, configured_title: Path | None) -> tuple[object, ...]:
    """The state of every file the choice depends on: a change means choosing again."""
    paths = [
        *([str(configured)] if configured else BODY_CANDIDATES),
        *([str(configured_title)] if configured_title else TITLE_CANDIDATES),
        *BODY_FALLBACKS,
        *TITLE_FALLBACKS,
    ]
    return tuple(_state(p) for p in paths)


def form_fonts(configured: Path | None, configured_title: Path | None = None) -> FormFonts:
    """The body and title chains; 503 ``font_unavailable`` when there is no Chinese face.

    A configured body font (``SMPS_CJK_FONT``) is used as given; the title face is ``SMPS_CJK_TITLE_FONT``,
    else the first heavier face found, else the body face. Latin and mark faces follow each.
    """
    key = (configured, configured_title)
    kept = _chosen.get(key)
    now = time.monotonic()
    if kept is not None and now - kept[2] < RECHECK_SECONDS:
        return kept[0]
    with _lock:
        looked_at = _looked_at(configured, configured_title)
        if kept is not None and kept[1] == looked_at:
            _chosen[key] = (kept[0], looked_at, now)
            return kept[0]
        body = _first((str(configured),) if configured else BODY_CANDIDATES)
        if body is None:
            tried = [str(configured)] if configured else list(BODY_CANDIDATES)
            _chosen.pop(key, None)
            raise FontUnavailable(
                Text(
                    "服务器未安装可嵌入的中文字体（可安装 fonts-arphic-uming fonts-wqy-microhei，或设置 SMPS_CJK_FONT）",
                    "The server has no embeddable Chinese font "
                    "(install fonts-arphic-uming fonts-wqy-microhei, or set SMPS_CJK_FONT)",
                ),
                extra={"fonts_tried": tried},
            )
        title = _first((str(configured_title),) if configured_title else TITLE_CANDIDATES) or body
        marks = _register(MARKS)
        body_latin = [_register(p) for p in BODY_FALLBACKS]
        title_latin = [_register(p) for p in TITLE_FALLBACKS]
        # Both chains hold the same faces (so they cover the same characters), each its own first.
        body_chain = [body, *body_latin, title, *title_latin, marks]
        title_chain = [title, *title_latin, body, *body_latin, marks]
        fonts = FormFonts(FontChain(_distinct(body_chain)), FontChain(_distinct(title_chain)), "")
        # Names and sizes, not paths nor times: instances with the same fonts share their stored forms.
        faces = [(f.family, Path(f.file).name, (_state(f.file) or (0, 0))[0]) for f in fonts.faces]
        fingerprint = hashlib.sha256(repr(faces).encode()).hexdigest()
        fonts = FormFonts(fonts.body, fonts.title, fingerprint)
        _chosen[key] = (fonts, looked_at, now)
    return fonts


def _distinct(faces: list[Face | None]) -> tuple[Face, ...]:
    return tuple({f.file: f for f in faces if f is not None}.values())
