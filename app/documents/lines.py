"""A flowable of lines already filled (``app.documents.wrap``): drawn as they are, split between lines.

reportlab's Paragraph breaks CJK text again each time a table measures or splits a cell, which made a
maximum-size form take minutes; these lines are measured once.
"""

from typing import Any

from reportlab.platypus import Flowable

from app.documents.wrap import wrap_lines


class Lines(Flowable):
    def __init__(self, lines: list[str], font: str, size: float, leading: float, align: str = "left") -> None:
        super().__init__()
        self.lines, self.font, self.size, self.leading, self.align = lines or [""], font, size, leading, align

    @classmethod
    def of(cls, text: str, font: str, size: float, leading: float, width: float, align: str = "left") -> "Lines":
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
        canvas.setFont(self.font, self.size)
        # Baseline of the first line: the text centred in its leading, descenders (~0.12 em) below.
        y = self.height - (self.leading - self.size) / 2 - self.size * 0.88
        for line in self.lines:
            if self.align == "right":
                canvas.drawRightString(self.width, y, line)
            elif self.align == "center":
                canvas.drawCentredString(self.width / 2, y, line)
            else:
                canvas.drawString(0, y, line)
            y -= self.leading
