"""One row per measure, Sonrisa beside its baseline, and the one table they print as."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.table import Table


@dataclass(frozen=True)
class Row:
    measure: str
    sonrisa: float
    baseline: float | None = None  # same work done the plainest way, same run, same servers
    unit: str = "/s"
    target: str = ""
    met: Callable[[Row], bool] | None = None
    detail: str = ""  # what each side did, in a few words

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.sonrisa / self.baseline


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f}{unit}"


def _target(row: Row) -> str:
    if not row.target:
        return "—"
    if row.met is None:
        return row.target
    return f"{row.target} [green]met[/green]" if row.met(row) else f"{row.target} [red]MISSED[/red]"


def ratio_at_least(minimum: float) -> Callable[[Row], bool]:
    return lambda row: row.ratio is not None and row.ratio >= minimum


def value_at_most(maximum: float) -> Callable[[Row], bool]:
    return lambda row: row.sonrisa <= maximum


def table(rows: Sequence[Row], title: str, caption: str) -> Table:
    out = Table(title=title, caption=caption, caption_justify="left")
    out.add_column("measure")
    out.add_column("Sonrisa", justify="right")
    out.add_column("baseline", justify="right")
    out.add_column("ratio", justify="right")
    out.add_column("target")
    out.add_column("how", style="dim")
    for row in rows:
        ratio = row.ratio
        out.add_row(
            row.measure,
            _number(row.sonrisa, row.unit),
            _number(row.baseline, row.unit),
            "—" if ratio is None else f"{ratio:.2f}",
            _target(row),
            row.detail,
        )
    return out
