"""Publishing factor versions, and reading those in force from the cache."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import actions
from service.accounts.tokens import Principal
from service.db import ReadSession
from service.factors import entries, repository
from service.factors.cache import FactorCache, StoredSet
from service.factors.errors import FactorFileInvalid, FactorVersionExists, FactorVersionNotFound
from service.factors.model import BehaviourType, FactorSet
from service.factors.schemas import FactorInForce, FactorVersionDetail, FactorVersionRead, PublishedRead


@dataclass(frozen=True, slots=True)
class Published:
    stored: StoredSet
    created: bool


def parse(source_text: str) -> FactorSet:
    """Validate a factor file; every problem is listed with where it is."""
    try:
        return FactorSet.parse_toml(source_text)
    except tomllib.TOMLDecodeError as exc:
        raise FactorFileInvalid(f"Not valid TOML: {exc}", f"不是合法的 TOML：{exc}") from exc
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "in": "file", "code": e["type"].upper(), "message": e["msg"]}
            for e in exc.errors()
        ]
        raise FactorFileInvalid(
            f"{len(errors)} problem(s) in the factor file.", f"排放因子文件有 {len(errors)} 处问题。", errors=errors
        ) from exc


async def publish(session: AsyncSession, *, source_text: str, published_by: str) -> Published:
    """Store a version once. Publishing the same content again is a no-op; other content is refused.

    Caches learn of the version from the database once this transaction has committed.
    """
    factor_set = parse(source_text)
    content = factor_set.model_dump(mode="json", by_alias=True)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).digest()
    row = await repository.insert_version(
        session,
        {
            "set_code": factor_set.set,
            "version": factor_set.version,
            "valid_from": factor_set.valid_from,
            "valid_to": factor_set.valid_to,
            "published_on": factor_set.published_on,
            "published_by": published_by,
            "source_text": source_text,
            "content": content,
            "content_sha256": digest,
        },
    )
    created = row is not None
    if row is None:
        row = await repository.get_version(session, factor_set.set, factor_set.version)
        assert row is not None
        if row.content_sha256 != digest:
            raise FactorVersionExists(
                f"{factor_set.set} {factor_set.version} exists with other content.",
                f"{factor_set.set} {factor_set.version} 已以不同内容发布。",
            )
    return Published(StoredSet(row.id, FactorSet.model_validate(row.content)), created)


async def publish_directory(session: AsyncSession, *, directory: Path, published_by: str) -> list[Published]:
    """Publish every *.toml file of a folder, in name order."""

    def read_all() -> list[str]:
        return [path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.toml"))]

    return [
        await publish(session, source_text=text, published_by=published_by)
        for text in await asyncio.to_thread(read_all)
    ]


async def publish_by_operator(session: AsyncSession, *, operator: Principal | None, source_text: str) -> PublishedRead:
    """Publish a version from the command line (`operator` None) and log it; through the API a version is
    published only by approving a draft (drafts.py)."""
    published = await publish(session, source_text=source_text, published_by=actions.actor_of(operator))
    fs = published.stored.factor_set
    await actions.log(
        session,
        operator,
        "factor.publish",
        f"factor_version:{published.stored.id}",
        set=fs.set,
        version=fs.version,
        created=published.created,
    )
    return PublishedRead(version=version_read(published.stored), created=published.created)


def version_read(stored: StoredSet) -> FactorVersionRead:
    fs = stored.factor_set
    return FactorVersionRead(
        version_id=stored.id,
        set=fs.set,
        version=fs.version,
        valid_from=fs.valid_from,
        valid_to=fs.valid_to,
        region=fs.region,
        methodology=fs.methodology,
    )


def versions(cache: FactorCache) -> list[FactorVersionRead]:
    """Every published version, by when it comes into force."""
    return [version_read(stored) for stored in cache.versions]


def in_force(cache: FactorCache) -> list[FactorInForce]:
    """The factor in force now for each behaviour type that has one, with its version."""
    now = datetime.now(UTC)
    found = []
    for behaviour in BehaviourType:
        resolved = cache.resolve(behaviour, now)
        if resolved is not None:
            stored = cache.get(resolved.version_id)
            assert stored is not None
            found.append(
                FactorInForce(
                    behaviour=behaviour,
                    version=version_read(stored),
                    factor=resolved.factor.model_dump(mode="json", by_alias=True, exclude_none=True),
                )
            )
    return found


async def version_detail(session: ReadSession, *, version_id: int) -> FactorVersionDetail:
    """One published version with every figure and the file as published."""
    row = await repository.get_version_by_id(session, version_id)
    if row is None:
        raise FactorVersionNotFound
    stored = StoredSet(row.id, FactorSet.model_validate(row.content))
    return FactorVersionDetail(
        version=version_read(stored),
        published_at=row.published_at,
        published_by=row.published_by,
        entries=entries.entries(stored.factor_set),
        source=row.source_text,
    )
