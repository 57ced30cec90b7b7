"""Tests of the factors domain; the helpers here build factor files from the shipped one.

Variants are made by loading the shipped TOML, editing the document, and writing it back with `toml_dumps`
(a writer just big enough for factor files: every table is written inline).
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from service.factors.model import FactorSet

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "emission_factors" / "tianjin-2026.1.toml"
# The newest shipped version, in force for behaviours of today.
LATEST = ROOT / "emission_factors" / "tianjin-2026.2.toml"

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@cache
def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


@cache
def latest_text() -> str:
    return LATEST.read_text(encoding="utf-8")


def shipped_document() -> dict[str, Any]:
    """A fresh, freely editable copy of the shipped file as TOML data."""
    return copy.deepcopy(tomllib.loads(shipped_text()))


def shipped_set() -> FactorSet:
    return FactorSet.parse_toml(shipped_text())


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):  # datetime included; a naive datetime is written as a TOML local date-time
        return value.isoformat()
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_dumps(document: dict[str, Any]) -> str:
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in document.items())


def factor_set_from(document: dict[str, Any]) -> FactorSet:
    return FactorSet.parse_toml(toml_dumps(document))


def at(text: str) -> datetime:
    """An aware datetime from ISO text; refuses naive text so a test cannot compare naive with aware."""
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed
