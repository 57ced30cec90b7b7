"""The consent texts a resident agrees to, versioned in texts/ beside this module.

Each `partner-link-N.toml` is version N of the text shown before a partner account is linked: a title and
a body per locale, and per kind of partner what it sends and why. The text shown is rendered for one
partner; its SHA-256 is what a consent records, with the version and locale. The newest version is the
one offered; a consent agreed to an older one stays what it was."""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Locale = Literal["zh-CN", "en"]

TEXTS = Path(__file__).with_name("texts")


@dataclass(frozen=True, slots=True)
class ConsentText:
    version: str
    locale: Locale
    title: str
    data: tuple[str, ...]
    purpose: str
    text: str

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.text.encode()).digest()


@functools.cache
def _versions() -> dict[int, dict[str, Any]]:
    versions = {}
    for path in TEXTS.glob("partner-link-*.toml"):
        number = int(path.stem.rsplit("-", 1)[1])
        with path.open("rb") as file:
            versions[number] = tomllib.load(file)
    return versions


def render(*, partner: str, kind: str, locale: Locale, retention_days: int) -> ConsentText:
    """The current text for linking an account at `partner` (of `kind`), in `locale`."""
    source = _versions()[max(_versions())]
    words, of_kind = source["locales"][locale], source["kinds"][kind][locale]
    data = tuple(of_kind["data"])
    fill = {
        "partner": partner,
        "data": "\n".join(f"- {item}" for item in data),
        "purpose": of_kind["purpose"],
        "retention_days": retention_days,
    }
    title = words["title"].format(**fill)
    body = words["body"].strip("\n").format(**fill)
    return ConsentText(source["version"], locale, title, data, of_kind["purpose"], f"{title}\n\n{body}\n")
