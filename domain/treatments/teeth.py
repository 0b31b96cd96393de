"""Tooth chart notation: FDI (ISO 3950) teeth, their surfaces, and the Universal display.

Pure rules with their reasons: a tooth is two digits, quadrant then position; a surface
name depends on whether the tooth is anterior or posterior, upper or lower.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from domain.shared import InvalidValue

PERMANENT_QUADRANTS = (1, 2, 3, 4)
PRIMARY_QUADRANTS = (5, 6, 7, 8)
UPPER_QUADRANTS = frozenset({1, 2, 5, 6})


def _teeth() -> tuple[int, ...]:
    permanent = [q * 10 + p for q in PERMANENT_QUADRANTS for p in range(1, 9)]
    primary = [q * 10 + p for q in PRIMARY_QUADRANTS for p in range(1, 6)]
    return tuple(permanent + primary)


VALID_TEETH: tuple[int, ...] = _teeth()
_VALID = frozenset(VALID_TEETH)


class Surface(StrEnum):
    MESIAL = "M"
    OCCLUSAL = "O"  # posterior teeth
    INCISAL = "I"  # anterior teeth
    DISTAL = "D"
    BUCCAL = "B"  # posterior teeth
    FACIAL = "F"  # anterior teeth
    LINGUAL = "L"  # lower teeth
    PALATAL = "P"  # upper teeth


# The order a restoration names its surfaces in ("MOD", "MODBL").
SURFACE_ORDER = "MOIDBFLP"


def valid_tooth(value: int) -> int:
    """An FDI tooth: permanent 11-18, 21-28, 31-38, 41-48; primary 51-55 ... 81-85."""
    if value not in _VALID:
        raise InvalidValue(
            f"tooth {value} is not an FDI tooth: permanent teeth are 11-18, 21-28, 31-38 and "
            "41-48, primary teeth 51-55, 61-65, 71-75 and 81-85",
            field="tooth",
        )
    return value


def quadrant(tooth: int) -> int:
    return tooth // 10


def position(tooth: int) -> int:
    return tooth % 10


def is_anterior(tooth: int) -> bool:
    """Incisors and canines (positions 1-3), permanent or primary."""
    return position(valid_tooth(tooth)) <= 3


def is_upper(tooth: int) -> bool:
    return quadrant(valid_tooth(tooth)) in UPPER_QUADRANTS


def surface_refusal(tooth: int, surface: Surface) -> str | None:
    """Why this surface does not exist on this tooth; None when it does."""
    anterior, upper = is_anterior(tooth), is_upper(tooth)
    kind = "an anterior tooth" if anterior else "a posterior tooth"
    match surface:
        case Surface.OCCLUSAL if anterior:
            return f"tooth {tooth} is {kind}: it has an incisal edge (I), not an occlusal surface"
        case Surface.INCISAL if not anterior:
            return f"tooth {tooth} is {kind}: it has an occlusal surface (O), not an incisal edge"
        case Surface.BUCCAL if anterior:
            return f"tooth {tooth} is {kind}: its outer surface is facial (F), not buccal"
        case Surface.FACIAL if not anterior:
            return f"tooth {tooth} is {kind}: its outer surface is buccal (B), not facial"
        case Surface.LINGUAL if upper:
            return f"tooth {tooth} is an upper tooth: its inner surface is palatal (P)"
        case Surface.PALATAL if not upper:
            return f"tooth {tooth} is a lower tooth: its inner surface is lingual (L)"
    return None


def valid_surfaces(tooth: int, surfaces: Iterable[str]) -> str:
    """The surfaces in their conventional order ("MOD"), each checked against the tooth."""
    valid_tooth(tooth)
    seen: list[Surface] = []
    for letter in surfaces:
        try:
            surface = Surface(letter.upper())
        except ValueError:
            raise InvalidValue(
                f"{letter!r} is not a surface: use M, D, O or I, B or F, L or P", field="surfaces"
            ) from None
        if surface in seen:
            raise InvalidValue(f"surface {surface.value} is named twice", field="surfaces")
        reason = surface_refusal(tooth, surface)
        if reason is not None:
            raise InvalidValue(reason, field="surfaces")
        seen.append(surface)
    return "".join(sorted((s.value for s in seen), key=SURFACE_ORDER.index))


def surfaces_of(tooth: int) -> tuple[Surface, ...]:
    """The five surfaces this tooth has."""
    return tuple(s for s in Surface if surface_refusal(tooth, s) is None)


def universal(tooth: int) -> str:
    """The Universal (US) name of an FDI tooth: permanent 1-32, primary A-T."""
    q, p = quadrant(valid_tooth(tooth)), position(tooth)
    if q <= 4:
        number = {1: 9 - p, 2: 8 + p, 3: 25 - p, 4: 24 + p}[q]
        return str(number)
    index = {5: 6 - p, 6: 5 + p, 7: 16 - p, 8: 15 + p}[q]
    return "ABCDEFGHIJKLMNOPQRST"[index - 1]
