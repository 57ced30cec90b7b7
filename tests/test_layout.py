"""The layout's own rules: every package of service/ says what it is, and no module grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"
MAX_LINES = 400


def test_no_module_of_the_service_passes_400_lines() -> None:
    long = {
        str(path.relative_to(SERVICE.parent)): lines
        for path in SERVICE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by job (CONTRIBUTING.md): {long}"


def test_every_package_of_the_service_opens_with_what_it_is() -> None:
    packages = [path.parent for path in SERVICE.rglob("*.py") if path.parent != SERVICE]
    for package in sorted(set(packages)):
        init = package / "__init__.py"
        assert init.is_file(), f"{package.relative_to(SERVICE.parent)} has no __init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no overview"
