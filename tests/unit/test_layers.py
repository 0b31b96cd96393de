"""Layers import downward only (ADR 7), and `lint-imports` is what holds the line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from clinic import registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "infra", "commands", "projections", "bus", "security", "api", "clinic")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The project's packages and its contracts, copied where a test may break them."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tests").mkdir()
    for contract in ("__init__.py", "import_contracts.py"):
        shutil.copy(ROOT / "tests" / contract, tmp_path / "tests" / contract)
    return tmp_path


def plant(module: Path, code: str) -> None:
    module.write_text(module.read_text() + "\n\n" + code + "\n")


def test_the_copied_tree_keeps_every_contract(tree_copy: Path) -> None:
    checked = lint_imports(tree_copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 broken" in checked.stdout


def test_an_upward_import_inside_a_function_is_rejected(tree_copy: Path) -> None:
    plant(
        tree_copy / "bus" / "relay.py",
        "def _dodge_the_cycle() -> object:\n    from clinic import platform\n\n    return platform",
    )

    checked = lint_imports(tree_copy)

    assert checked.returncode != 0
    assert "Layers import downward only BROKEN" in checked.stdout
    assert "bus.relay -> clinic.platform" in checked.stdout


def test_the_domain_may_not_reach_for_a_database_driver(tree_copy: Path) -> None:
    plant(tree_copy / "domain" / "shared.py", "import asyncpg  # noqa: F401")

    checked = lint_imports(tree_copy)

    assert checked.returncode != 0
    assert "The domain is pure: no I/O, no frameworks BROKEN" in checked.stdout


def test_one_context_may_not_import_another(tree_copy: Path) -> None:
    plant(tree_copy / "commands" / "scheduling.py", "from domain.patients import Patient")

    checked = lint_imports(tree_copy)

    assert checked.returncode != 0
    assert "Contexts stand alone in every layer BROKEN" in checked.stdout
    assert "commands.scheduling is not allowed to import domain.patients" in checked.stdout


def test_a_context_found_without_being_listed_is_kept_apart_too(tree_copy: Path) -> None:
    """A new context needs no edit to the contracts: it is a context by being there."""
    (tree_copy / "domain" / "inventory.py").write_text("from domain.treatments import Procedure\n")

    checked = lint_imports(tree_copy)

    assert checked.returncode != 0
    assert "domain.inventory is not allowed to import domain.treatments" in checked.stdout


def test_a_context_may_not_start_a_cross_context_process(tree_copy: Path) -> None:
    plant(tree_copy / "commands" / "treatments.py", "from commands import visits  # noqa: F401")

    checked = lint_imports(tree_copy)

    assert checked.returncode != 0
    assert "Contexts stand alone in every layer BROKEN" in checked.stdout


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def _of_context(module: str, context: str) -> bool:
    """Whether a module is one of the context's own, in whichever layer."""
    return context in module.split(".")[1:]


WIRING = (
    "clinic.platform",
    "clinic.readiness",
    "clinic.rebuild",
    "clinic.pipeline",
    "clinic.cli",
    "clinic.parts",
    "clinic.console",
    "clinic.declaration",
    "api.services",
    "api.app",
    "api.routes",
)


def test_the_wiring_names_no_context() -> None:
    graph = _graph()
    named = {
        f"{module} -> {imported}"
        for module in WIRING
        for imported in graph.find_modules_directly_imported_by(module)
        for context in registry.CONTEXTS
        if _of_context(imported, context.name)
    }
    assert named == set()


def test_no_context_is_imported_by_more_than_four_product_files_outside_its_own() -> None:
    graph = _graph()
    importers: dict[str, set[str]] = {}
    for context in registry.CONTEXTS:
        own = {m for m in graph.modules if _of_context(m, context.name)}
        importers[context.name] = {
            importer
            for module in own
            for importer in graph.find_modules_that_directly_import(module)
            if importer not in own
        }
    assert {c: sorted(found) for c, found in importers.items() if len(found) > 4} == {}


# A statement, not a word: "DELETE" is also an HTTP method the routers name.
SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bexecute\(|\bfetch(?:row|val)?\(",
)


@pytest.mark.parametrize(
    ("line", "is_sql"),
    [
        ('rows = await conn.fetch("SELECT id FROM appointments")', True),
        ('"DELETE FROM sessions WHERE id = $1"', True),
        ('"UPDATE patients SET name = $1"', True),
        ("await pool.execute(statement)", True),
        ('_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})', False),
        ('@router.delete("/api/appointments/{id}")', False),
    ],
)
def test_the_sql_detector_tells_statements_from_http_verbs(line: str, is_sql: bool) -> None:
    assert bool(SQL.search(line)) is is_sql


def test_the_http_layer_holds_no_sql() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "api").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert found == []
