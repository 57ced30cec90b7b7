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


def draft_text(valid_from: datetime, version: str = "2026.3") -> str:
    """The newest shipped file as a new version: metro 50 g/km, bikes' evidence weighed 0.9, walking 0.03 g
    a step, recyclables 250 g/kg, hazardous waste dropped and textiles added."""
    source = latest_text()
    replacements = {
        'version = "2026.2"': f'version = "{version}"',
        "valid_from = 2026-11-01T00:00:00+08:00": f"valid_from = {valid_from.replace(microsecond=0).isoformat()}",
        'baseline_g_per_unit = "107.8"': 'baseline_g_per_unit = "111.0"',
        'reduction_g_per_unit = "46.8"': 'reduction_g_per_unit = "50.0"',
        'trust = { partner = "1", evidence = "0.8", self = "review" }': (
            'trust = { partner = "1", evidence = "0.9", self = "review" }'
        ),
        'baseline_g_per_unit = "0.02"': 'baseline_g_per_unit = "0.03"',
        'reduction_g_per_unit = "0.02"': 'reduction_g_per_unit = "0.03"',
        'project_g_per_unit = "485", reduction_g_per_unit = "201"': (
            'project_g_per_unit = "436", reduction_g_per_unit = "250"'
        ),
        'hazardous = { baseline_g_per_unit = "686", project_g_per_unit = "457", reduction_g_per_unit = "229", '
        'title_zh = "有害垃圾", title_en = "Hazardous waste" }': (
            'textiles = { baseline_g_per_unit = "686", project_g_per_unit = "586", reduction_g_per_unit = "100", '
            'title_zh = "废旧纺织物", title_en = "Textiles" }'
        ),
    }
    for old, new in replacements.items():
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source
