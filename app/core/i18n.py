"""Bilingual messages: every problem title/detail and validation message in zh-CN and en."""

from dataclasses import dataclass
from typing import Any

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"


@dataclass(frozen=True, slots=True)
class Text:
    """A message in both languages; ``{name}`` placeholders are filled from ``params``."""

    zh: str
    en: str

    def render(self, lang: str, **params: Any) -> str:
        template = self.en if lang == "en" else self.zh
        if not params:
            return template
        # A parameter may itself be bilingual (a code's Chinese label beside the code).
        return template.format(**{k: v.render(lang) if isinstance(v, Text) else v for k, v in params.items()})


def negotiate(accept_language: str | None) -> str:
    """Pick ``zh-CN`` or ``en`` from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT_LANG
    best, best_q = DEFAULT_LANG, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower()
        lang = "en" if tag.startswith("en") else "zh-CN" if tag.startswith("zh") else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


# Chinese labels of coded values, each dict the whole set of one field's choices (see app.reference.labels).
_CHOICES: dict[frozenset[str], dict[str, str]] = {}


def register_choices(labels: dict[str, str]) -> None:
    _CHOICES[frozenset(labels)] = labels


def choices_text(values: list[str], en: str) -> Text:
    """A list of allowed values: ``现行（existing）、待制定（to_be_drafted）`` in Chinese where the set is known."""
    labels = _CHOICES.get(frozenset(values), {})
    zh = "、".join(f"{labels[v]}（{v}）" if v in labels else v for v in values)
    return Text(zh, en)


def localized(lang: str) -> dict[str, str]:
    """Headers of a response whose text follows Accept-Language."""
    return {"Content-Language": lang, "Vary": "Accept-Language"}
