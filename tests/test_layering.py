"""The layering of ``emulator/`` (docs/ARCHITECTURE.md#imports), checked on the source.

Every ``import`` and ``from … import`` of every module is read from its syntax tree — inside functions and
``if TYPE_CHECKING:`` blocks too, since a type-only import still ties the layers together — and matched
against the contracts below. A plain AST walk does the job of import-linter here without a dependency:
the contracts are prefix rules on module names, which a dozen lines decide.

``KNOWN_VIOLATIONS`` lists the imports that break a contract today and are being removed. The test fails
on a violation not in the list, and on an entry of the list that no longer violates (delete it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "emulator"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# The modules above the composition root's line: the root itself, the package's public names
# (``emulator/__init__.py``, the module ``emulator`` alone, not its subpackages) and the faces built on the
# public API (compat/, and scenarios/ which runs scenario files through it). Every other module is
# "below service.py".
TOP = ("emulator.service", "emulator.cli", "emulator.pytest_plugin", "emulator.compat", "emulator.scenarios")


@dataclass(frozen=True)
class Contract:
    name: str
    layer: tuple[str, ...]  # module prefixes the contract applies to
    forbidden: tuple[str, ...]  # module prefixes they may not import
    exempt: tuple[str, ...] = ()  # module prefixes of the layer the contract does not apply to
    exempt_package_root: bool = False  # ``emulator/__init__.py`` itself is exempt


CONTRACTS = (
    Contract(
        "domain/ is pure rules: no storage, transfers, faces or service",
        ("emulator.domain",),
        (
            "emulator.store",
            "emulator.transfer",
            "emulator.com",
            "emulator.compat",
            "emulator.service",
            "sqlalchemy",
            "sqlite3",
            "alembic",
        ),
    ),
    Contract(
        "store/ knows no facade, face, transfer or service",
        ("emulator.store",),
        ("emulator.com", "emulator.compat", "emulator.transfer", "emulator.service"),
    ),
    Contract(
        "transfer/ never imports com/ (callbacks get views from a factory), compat/ or the service",
        ("emulator.transfer",),
        ("emulator.com", "emulator.compat", "emulator.service"),
    ),
    Contract(
        "identity/ knows no facade, face, transfer, storage or service",
        ("emulator.identity",),
        ("emulator.com", "emulator.compat", "emulator.transfer", "emulator.service", "emulator.store"),
    ),
    Contract(
        "nothing below the composition root imports it, not even for type hints",
        ("emulator",),
        ("emulator.service",),
        exempt=TOP,
        exempt_package_root=True,
    ),
    Contract(
        "the foundation (constants, HRESULTs, clock, events, profiles) imports no layer built on it",
        ("emulator.constants", "emulator.hresults", "emulator.clock", "emulator.events", "emulator.profiles"),
        (
            "emulator.com",
            "emulator.compat",
            "emulator.cli",
            "emulator.pytest_plugin",
            "emulator.transfer",
            "emulator.store",
            "emulator.service",
            "emulator.queue",
            "emulator.helper_tokens",
        ),
    ),
    Contract(
        "com/ is the facade: it knows no face built on it",
        ("emulator.com",),
        ("emulator.compat", "emulator.cli", "emulator.pytest_plugin"),
    ),
    Contract(
        "com/ talks to the service layer (backend.py) only: no queue, store, transfer or token lifetime",
        ("emulator.com",),
        ("emulator.queue", "emulator.store", "emulator.transfer", "emulator.helper_tokens"),
    ),
    Contract(
        "only the pytest plugin imports pytest (the package is used outside test runs)",
        ("emulator",),
        ("pytest", "_pytest"),
        exempt=("emulator.pytest_plugin", "emulator.scenarios.pytest_items"),  # the plugin's own collection items
    ),
)

# (importing module, imported module) pairs that break a contract today. Remove an entry with its fix.
# Empty since the facade's objects hold the service layer (emulator/backend.py) instead of BitsService.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    """Whether ``name`` is a module or package of this project (not an attribute of one)."""
    if not _in(name, (PACKAGE,)):
        return False
    rel = root.parent / Path(*name.split("."))
    return rel.with_suffix(".py").is_file() or (rel / "__init__.py").is_file()


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """The absolute names of the modules ``path`` imports, wherever the import statement stands."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                # ``from .. import service`` imports the module emulator.service, not an attribute.
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate, root) else base)
    return found


def _all_modules() -> dict[str, set[str]]:
    return {_module_name(p): imports_of(p) for p in sorted(ROOT.rglob("*.py"))}


def violations(modules: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """(importer, imported) → the contracts the import breaks."""
    broken: dict[tuple[str, str], list[str]] = {}
    for module, imported in modules.items():
        for contract in CONTRACTS:
            if not _in(module, contract.layer) or _in(module, contract.exempt):
                continue
            if contract.exempt_package_root and module == PACKAGE:
                continue
            for target in imported:
                if _in(target, contract.forbidden):
                    broken.setdefault((module, target), []).append(contract.name)
    return broken


def test_no_module_imports_against_the_layering() -> None:
    found = violations(_all_modules())
    new = {pair: found[pair] for pair in sorted(set(found) - KNOWN_VIOLATIONS)}
    assert not new, "imports against docs/ARCHITECTURE.md:\n" + "\n".join(
        f"  {a} imports {b}: {'; '.join(why)}" for (a, b), why in new.items()
    )


def test_known_violations_are_not_stale() -> None:
    """An entry whose import was fixed must leave KNOWN_VIOLATIONS, so the list only shrinks."""
    stale = sorted(KNOWN_VIOLATIONS - set(violations(_all_modules())))
    assert not stale, f"fixed, delete from KNOWN_VIOLATIONS: {stale}"


# The checker itself, on synthetic sources: it must see what the real tree may one day contain.


@pytest.mark.parametrize(
    ("source", "module_file", "expected"),
    [
        ("from ..service import BitsService\n", "domain/x.py", {"emulator.service"}),
        ("from .. import service\n", "domain/x.py", {"emulator.service"}),
        ("from .. import hresults, constants\n", "domain/x.py", {"emulator.hresults", "emulator.constants"}),
        ("from ..domain import access\n", "com/x.py", {"emulator.domain.access"}),
        ("from .records import JobRecord\n", "domain/x.py", {"emulator.domain.records"}),
        ("import sqlite3, sqlalchemy.orm\n", "domain/x.py", {"sqlite3", "sqlalchemy.orm"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..service import BitsService\n",
            "transfer/x.py",
            {"typing", "emulator.service"},
        ),
        ("def f():\n    from ..com.job import Job\n", "transfer/x.py", {"emulator.com.job"}),
        ("from . import sids\n", "identity/__init__.py", {"emulator.identity.sids"}),
        ("from .service import BitsService\n", "x.py", {"emulator.service"}),
    ],
)
def test_imports_are_resolved_to_absolute_modules(
    tmp_path: Path, source: str, module_file: str, expected: set[str]
) -> None:
    fake_root = tmp_path / PACKAGE
    for rel in ("__init__.py", "service.py", "hresults.py", "constants.py", "domain/__init__.py",
                "domain/access.py", "domain/records.py", "identity/__init__.py", "identity/sids.py",
                "com/__init__.py", "com/job.py", "transfer/__init__.py"):
        (fake_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake_root / rel).touch()
    path = fake_root / module_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    assert imports_of(path, fake_root) == expected


def test_contracts_catch_each_kind_of_violation() -> None:
    modules = {
        "emulator.domain.rules": {"emulator.constants", "sqlite3", "emulator.store.repository"},
        "emulator.transfer.conn": {"emulator.com.job", "emulator.domain.records"},
        "emulator.identity.who": {"emulator.store.schema", "emulator.identity.sids"},
        "emulator.store.repo": {"emulator.transfer.scheduler"},
        "emulator.com.job": {"emulator.cli", "emulator.domain.access"},
        "emulator.queue": {"emulator.service"},
        "emulator.cli": {"emulator.service"},
        "emulator.compat.bitsadmin": {"emulator.service", "emulator.com.job"},
        "emulator.pytest_plugin": {"pytest", "emulator.service"},
        "emulator.clock": {"pytest", "emulator.com.args"},
        "emulator.events": {"emulator.constants", "emulator.domain.records"},
        "emulator.scenarios.runner": {"emulator.service", "emulator.com.job"},
        "emulator": {"emulator.service", "emulator.com.job"},
    }
    assert set(violations(modules)) == {
        ("emulator.domain.rules", "sqlite3"),
        ("emulator.domain.rules", "emulator.store.repository"),
        ("emulator.transfer.conn", "emulator.com.job"),
        ("emulator.identity.who", "emulator.store.schema"),
        ("emulator.store.repo", "emulator.transfer.scheduler"),
        ("emulator.com.job", "emulator.cli"),
        ("emulator.queue", "emulator.service"),
        ("emulator.clock", "pytest"),
        ("emulator.clock", "emulator.com.args"),
    }
