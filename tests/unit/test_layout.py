"""The shape of the code: short modules and functions, and the layers importing only downwards.

Read from the source with ``ast`` (imports inside functions count too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("estatecare", "models", "tasks", "flows", "notifications", "deployments")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 120


def _modules(*packages: str) -> Iterator[Path]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, with its line (relative imports are not used here)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # ``from estatecare import webapp``
                yield node.lineno, f"{node.module}.{alias.name}"


def _offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _modules(*packages)
        for line, name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_no_product_module_is_longer_than_500_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules(*PRODUCT)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_product_function_is_longer_than_120_lines() -> None:
    long = [
        f"{p.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for p in _modules(*PRODUCT)
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


@pytest.mark.parametrize(
    ("packages", "forbidden"),
    [
        (("estatecare/api",), ("estatecare.webapp",)),
        (("estatecare/webapp",), ("estatecare.api", "estatecare.server")),
        (("tasks",), ("flows", "deployments")),
        (("flows",), ("deployments",)),
        (("models",), ("estatecare", "tasks", "flows", "notifications", "deployments", "prefect", "aiosmtplib")),
        (("estatecare/services", "estatecare/reads"), ("estatecare.api", "estatecare.webapp", "flows", "prefect")),
    ],
    ids=[
        "the API does not import the web app",
        "the web app does not import the API",
        "tasks do not import flows",
        "flows do not import deployments",
        "models are pure rules",
        "services and reads know no front door and no flow",
    ],
)
def test_each_layer_imports_only_what_lies_below_it(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    assert _offenders(packages, forbidden) == []
