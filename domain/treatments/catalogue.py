"""The clinic's procedure catalogue: what can be done, where in the mouth, and for what fee.

Codes and names are our own (licensed code sets are not shipped). Fees are exact euros.
A fee change is an event; a treatment records the fee it was charged, so a later change
never rewrites the past.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.shared import InvalidValue, Meta, TransitionRefused, require_text
from domain.treatments.teeth import valid_surfaces, valid_tooth

CATALOGUE_ID = uuid5(NAMESPACE_URL, "sonrisa:treatments:catalogue")
HIGHEST_FEE = Decimal("100000.00")
_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")


class Site(StrEnum):
    """What a procedure applies to."""

    TOOTH = "tooth"
    SURFACES = "surfaces"
    QUADRANT = "quadrant"
    SEXTANT = "sextant"
    MOUTH = "mouth"


class Mark(StrEnum):
    """What a procedure or an examination leaves on the chart."""

    CARIES = "caries"
    RESTORATION = "restoration"
    SEALANT = "sealant"
    CROWN = "crown"
    BRIDGE_PONTIC = "bridge_pontic"
    BRIDGE_ABUTMENT = "bridge_abutment"
    IMPLANT = "implant"
    ROOT_CANAL = "root_canal"
    FRACTURE = "fracture"
    IMPACTED = "impacted"
    MISSING = "missing"
    TO_EXTRACT = "to_extract"
    MOBILITY = "mobility"
    NOTE = "note"


def valid_fee(value: Decimal | str | int) -> Decimal:
    """Euros to the cent, never negative, never a float."""
    if isinstance(value, float):
        raise InvalidValue('a fee is exact: send it as text, like "45.00"', field="fee")
    try:
        fee = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValue(f"fee {value!r} is not an amount of euros", field="fee") from None
    if not fee.is_finite():
        raise InvalidValue("fee must be an amount of euros", field="fee")
    if fee < 0:
        raise InvalidValue("a fee cannot be negative", field="fee")
    if fee != fee.quantize(Decimal("0.01")):
        raise InvalidValue("a fee is exact to the cent", field="fee")
    if fee > HIGHEST_FEE:
        raise InvalidValue(f"a fee is at most {HIGHEST_FEE} euros", field="fee")
    return fee.quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one procedure is done: a tooth and surfaces, an area (quadrant or sextant), or
    the whole mouth, checked against what the procedure applies to."""

    tooth: int | None = None
    surfaces: str = ""
    area: int | None = None


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    name_es: str
    name_en: str
    category: str
    fee: Decimal
    minutes: int
    site: Site
    marks: Mark | None = None
    material: str | None = None
    min_surfaces: int = 0
    max_surfaces: int = 0
    materials: tuple[tuple[str, int], ...] = ()  # bill of materials: item and quantity

    def place(self, tooth: int | None, surfaces: str, area: int | None) -> Placement:
        """The site of this procedure, or InvalidValue saying why it cannot be done there."""
        match self.site:
            case Site.MOUTH:
                if tooth is not None or surfaces or area is not None:
                    raise InvalidValue(
                        f"{self.code} is done on the whole mouth: name no tooth, surfaces or area",
                        field="surfaces" if surfaces else "tooth",
                    )
                return Placement()
            case Site.QUADRANT | Site.SEXTANT:
                top = 4 if self.site is Site.QUADRANT else 6
                if tooth is not None or surfaces:
                    raise InvalidValue(
                        f"{self.code} is done on a {self.site.value}: name it as area 1-{top}, "
                        "not a tooth or surfaces",
                        field="area",
                    )
                if area is None or not 1 <= area <= top:
                    raise InvalidValue(
                        f"{self.code} needs a {self.site.value}, area 1-{top}", field="area"
                    )
                return Placement(area=area)
        if tooth is None:
            raise InvalidValue(f"{self.code} is done on a tooth: name the tooth", field="tooth")
        if area is not None:
            raise InvalidValue(f"{self.code} is done on a tooth, not an area", field="area")
        checked = valid_surfaces(valid_tooth(tooth), surfaces)
        if self.site is Site.TOOTH and checked:
            raise InvalidValue(
                f"{self.code} is done on the whole tooth: name no surfaces", field="surfaces"
            )
        if self.site is Site.SURFACES and not (
            self.min_surfaces <= len(checked) <= self.max_surfaces
        ):
            wanted = (
                f"{self.min_surfaces}"
                if self.min_surfaces == self.max_surfaces
                else f"{self.min_surfaces} to {self.max_surfaces}"
            )
            raise InvalidValue(
                f"{self.code} covers {wanted} surface(s); {checked or 'none'} named",
                field="surfaces",
            )
        return Placement(tooth=tooth, surfaces=checked)

    @property
    def needs_consent(self) -> bool:
        """Surgery (extractions, implants) needs written informed consent (Ley 41/2002)."""
        return self.category == "surgical"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            fee=str(self.fee),
            site=self.site.value,
            marks=self.marks.value if self.marks else None,
            materials=[{"item": i, "quantity": q} for i, q in self.materials],
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Procedure:
        return cls(
            code=data["code"],
            name_es=data["name_es"],
            name_en=data["name_en"],
            category=data["category"],
            fee=Decimal(data["fee"]),
            minutes=int(data["minutes"]),
            site=Site(data["site"]),
            marks=_mark(data.get("marks")),
            material=data.get("material"),
            min_surfaces=int(data.get("min_surfaces", 0)),
            max_surfaces=int(data.get("max_surfaces", 0)),
            materials=tuple((m["item"], int(m["quantity"])) for m in data.get("materials", [])),
        )

    @classmethod
    def create(cls, data: dict[str, Any]) -> Procedure:
        """A procedure a person defined, every value checked."""
        code = str(data.get("code", "")).strip().upper()
        if not _CODE.match(code):
            raise InvalidValue(
                "a procedure code is 2-16 capital letters, digits or dashes, like RCT-M",
                field="code",
            )
        site = Site(data["site"])
        low, high = int(data.get("min_surfaces", 0)), int(data.get("max_surfaces", 0))
        if site is Site.SURFACES and not 1 <= low <= high <= 5:
            raise InvalidValue("a surface procedure covers 1 to 5 surfaces", field="max_surfaces")
        minutes = int(data["minutes"])
        if not 1 <= minutes <= 480:
            raise InvalidValue("a procedure lasts 1 to 480 minutes", field="minutes")
        return cls(
            code=code,
            name_es=require_text(str(data["name_es"]), "Spanish name", max_length=120),
            name_en=require_text(str(data["name_en"]), "English name", max_length=120),
            category=require_text(str(data["category"]), "category", max_length=60),
            fee=valid_fee(data["fee"]),
            minutes=minutes,
            site=site,
            marks=_mark(data.get("marks")),
            material=data.get("material"),
            min_surfaces=low if site is Site.SURFACES else 0,
            max_surfaces=high if site is Site.SURFACES else 0,
            materials=tuple(
                (require_text(str(m["item"]), "material", max_length=120), int(m["quantity"]))
                for m in data.get("materials", [])
            ),
        )


def _mark(value: object) -> Mark | None:
    if not value:
        return None
    try:
        return Mark(str(value))
    except ValueError:
        known = ", ".join(m.value for m in Mark)
        raise InvalidValue(
            f"a procedure leaves one of {known} on the chart", field="marks"
        ) from None


def _p(
    code: str,
    es: str,
    en: str,
    category: str,
    fee: str,
    minutes: int,
    site: Site,
    marks: Mark | None = None,
    surfaces: tuple[int, int] = (0, 0),
    material: str | None = None,
    materials: tuple[tuple[str, int], ...] = (),
) -> Procedure:
    return Procedure(
        code, es, en, category, Decimal(fee), minutes, site, marks, material, *surfaces, materials
    )


GLOVES = ("gloves (pair)", 1)
ANAESTHETIC = ("anaesthetic cartridge", 1)
COMPOSITE = ("composite capsule", 1)

DEFAULT_CATALOGUE: tuple[Procedure, ...] = (
    _p("EXAM", "Exploración y diagnóstico", "Examination", "diagnostic", "30.00", 20, Site.MOUTH),
    _p("RX-BW", "Radiografía de aleta", "Bitewing radiograph", "diagnostic", "15.00", 10,
       Site.QUADRANT),
    _p("RX-PA", "Radiografía periapical", "Periapical radiograph", "diagnostic", "12.00", 10,
       Site.TOOTH),
    _p("RX-PAN", "Ortopantomografía", "Panoramic radiograph", "diagnostic", "45.00", 15,
       Site.MOUTH),
    _p("CLEAN", "Tartrectomía y limpieza", "Scaling and cleaning", "preventive", "55.00", 45,
       Site.MOUTH, materials=(GLOVES,)),
    _p("FILL-1", "Obturación de composite, 1 superficie", "Composite filling, 1 surface",
       "restorative", "50.00", 30, Site.SURFACES, Mark.RESTORATION, (1, 1), "composite",
       (GLOVES, ANAESTHETIC, COMPOSITE)),
    _p("FILL-2", "Obturación de composite, 2 superficies", "Composite filling, 2 surfaces",
       "restorative", "65.00", 40, Site.SURFACES, Mark.RESTORATION, (2, 2), "composite",
       (GLOVES, ANAESTHETIC, COMPOSITE)),
    _p("FILL-3", "Obturación de composite, 3 o más superficies",
       "Composite filling, 3 or more surfaces", "restorative", "80.00", 50, Site.SURFACES,
       Mark.RESTORATION, (3, 5), "composite", (GLOVES, ANAESTHETIC, ("composite capsule", 2))),
    _p("RCT-A", "Endodoncia unirradicular", "Root canal, anterior tooth", "endodontic",
       "160.00", 60, Site.TOOTH, Mark.ROOT_CANAL, materials=(GLOVES, ANAESTHETIC)),
    _p("RCT-P", "Endodoncia birradicular", "Root canal, premolar", "endodontic", "210.00", 75,
       Site.TOOTH, Mark.ROOT_CANAL, materials=(GLOVES, ANAESTHETIC)),
    _p("RCT-M", "Endodoncia multirradicular", "Root canal, molar", "endodontic", "280.00", 90,
       Site.TOOTH, Mark.ROOT_CANAL, materials=(GLOVES, ("anaesthetic cartridge", 2))),
    _p("CROWN", "Corona de cerámica", "Ceramic crown", "prosthodontic", "450.00", 60,
       Site.TOOTH, Mark.CROWN, material="ceramic"),
    _p("BRIDGE-U", "Pieza de puente", "Bridge unit", "prosthodontic", "400.00", 45, Site.TOOTH,
       Mark.BRIDGE_PONTIC, material="ceramic"),
    _p("IMPLANT", "Implante", "Implant", "surgical", "1100.00", 90, Site.TOOTH, Mark.IMPLANT,
       materials=(GLOVES, ("anaesthetic cartridge", 2), ("implant fixture", 1))),
    _p("EXT-S", "Exodoncia simple", "Simple extraction", "surgical", "60.00", 30, Site.TOOTH,
       Mark.MISSING, materials=(GLOVES, ANAESTHETIC)),
    _p("EXT-Q", "Exodoncia quirúrgica", "Surgical extraction", "surgical", "110.00", 60,
       Site.TOOTH, Mark.MISSING, materials=(GLOVES, ("anaesthetic cartridge", 2),
                                          ("suture", 1))),
    _p("SEAL", "Sellador de fisuras", "Fissure sealant", "preventive", "25.00", 15,
       Site.SURFACES, Mark.SEALANT, (1, 1), "sealant"),
    _p("FLUOR", "Aplicación de flúor", "Fluoride application", "preventive", "20.00", 10,
       Site.MOUTH),
    _p("WHITEN", "Blanqueamiento", "Whitening", "aesthetic", "300.00", 60, Site.MOUTH),
    _p("ORTHO-C", "Consulta de ortodoncia", "Orthodontic consultation", "orthodontic", "0.00",
       30, Site.MOUTH),
)  # fmt: skip


class Catalogue(Aggregate):
    """The clinic's one catalogue of procedures and their current fees."""

    @staticmethod
    def create_id() -> UUID:
        return CATALOGUE_ID

    @classmethod
    def open(cls, meta: Meta) -> Catalogue:
        return cls(procedures=[p.as_dict() for p in DEFAULT_CATALOGUE], meta=meta)

    @event("CatalogueOpened")
    def __init__(self, procedures: list[dict[str, Any]], meta: Meta) -> None:
        self.procedures: dict[str, Procedure] = {
            p["code"]: Procedure.from_dict(p) for p in procedures
        }

    def procedure(self, code: str) -> Procedure:
        found = self.procedures.get(code.strip().upper())
        if found is None:
            raise InvalidValue(f"procedure {code!r} is not in the catalogue", field="code")
        return found

    def add(self, procedure: Procedure, meta: Meta) -> None:
        if procedure.code in self.procedures:
            raise TransitionRefused(f"procedure {procedure.code} is already in the catalogue")
        self._procedure_added(procedure=procedure.as_dict(), meta=meta)

    @event("ProcedureAdded")
    def _procedure_added(self, procedure: dict[str, Any], meta: Meta) -> None:
        self.procedures[procedure["code"]] = Procedure.from_dict(procedure)

    def change_fee(self, code: str, fee: Decimal | str, meta: Meta) -> bool:
        """The new fee applies to treatments recorded from now on; False when unchanged."""
        procedure, checked = self.procedure(code), valid_fee(fee)
        if procedure.fee == checked:
            return False
        self._fee_changed(code=procedure.code, fee=str(checked), previous=str(procedure.fee),
                          meta=meta)  # fmt: skip
        return True

    @event("FeeChanged")
    def _fee_changed(self, code: str, fee: str, previous: str, meta: Meta) -> None:
        self.procedures[code] = replace(self.procedures[code], fee=Decimal(fee))
