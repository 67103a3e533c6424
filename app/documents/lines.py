"""A flowable of lines already filled (``app.documents.wrap``): drawn as they are, split between lines.

reportlab's Paragraph breaks CJK text again each time a table measures or splits a cell, which made a
maximum-size form take minutes; these lines are measured once. Each character is drawn in the first face of the chain that has it.
"""

from typing import Any

from reportlab.platypus import Flowable

from app.documents.wrap import wrap_lines
from app.fonts.glyphs import FontChain


class Lines(Flowable):  # type: ignore[misc]  # reportlab ships no types
    def __init__(self, lines: list[str], font: FontChain, size: float, leading: float, align: str = "left") -> None:
        super().__init__()
        self.lines, self.font, self.size, self.leading, self.align = lines or [""], font, size, leading, align

    @classmethod
    def of(cls, text: str, font: FontChain, size: float, leading: float, width: float, align: str = "left") -> "Lines":
        return cls(wrap_lines(text, font, size, width), font, size, leading, align)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width, self.height = avail_width, len(self.lines) * self.leading
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list["Lines"]:
        fit = int(avail_height // self.leading)
        if fit <= 0 or fit >= len(self.lines):
            return []
        return [self._with(self.lines[:fit]), self._with(self.lines[fit:])]

    def _with(self, lines: list[str]) -> "Lines":
        return Lines(lines, self.font, self.size, self.leading, self.align)

    def draw(self) -> None:
        canvas: Any = self.canv
        # Baseline of the first line: the text centred in its leading, descenders (~0.12 em) below.
        y = self.height - (self.leading - self.size) / 2 - self.size * 0.88
        for line in self.lines:
            x = {"right": self.width, "center": self.width / 2}.get(self.align, 0)
            self.font.draw(canvas, x, y, line, self.size, self.align)
            y -= self.leading
