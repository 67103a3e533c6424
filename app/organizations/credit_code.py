"""Unified social credit code (统一社会信用代码, GB 32100-2015)."""

import functools
import re
from enum import Enum

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")


class CreditCodeCheck(Enum):
    valid = "valid"
    malformed = "malformed"  # wrong length, characters or area part: always refused
    bad_check_character = "bad_check_character"  # well-formed but the 18th character disagrees


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


@functools.lru_cache(maxsize=4096)
def check_credit_code(code: str) -> CreditCodeCheck:
    if not _SHAPE.match(code):
        return CreditCodeCheck.malformed
    if check_character(code[:17]) != code[17]:
        return CreditCodeCheck.bad_check_character
    return CreditCodeCheck.valid
