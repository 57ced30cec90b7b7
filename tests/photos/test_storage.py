"""The two photo stores keep, give back and delete objects alike; the filesystem one writes whole files in
sharded folders and takes only content keys; the S3 one needs its bucket and keys and never shows its secret."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from service.config import PhotoStorageKind, Settings
from service.photos.s3 import S3Storage
from service.photos.storage import FilesystemStorage, PhotoStorage, key_for, storage_for
from tests.fixtures.photos import BOTH_STORES, S3Server, Store, jpeg_with_gps

DATA = jpeg_with_gps()
KEY = key_for(hashlib.sha256(DATA).digest())


def open_store(store: Store) -> PhotoStorage:
    return storage_for(Settings(_env_file=None, **store.settings()))


@BOTH_STORES
async def test_an_object_is_kept_given_back_and_deleted(store: Store) -> None:
    storage = open_store(store)
    assert not await storage.exists(KEY)
    assert await storage.get(KEY) is None

    await storage.put(KEY, DATA, "image/jpeg")
    await storage.put(KEY, DATA, "image/jpeg")

    assert await storage.exists(KEY)
    assert await storage.get(KEY) == DATA
    assert store.objects() == {KEY}
    await storage.delete(KEY)
    await storage.delete(KEY)
    assert not await storage.exists(KEY)
    assert await storage.get(KEY) is None
    assert store.objects() == set()


@pytest.mark.parametrize("store", ["s3"], indirect=True)
async def test_an_s3_link_serves_the_object_for_a_while_and_lets_no_one_keep_it(store: Store) -> None:
    storage = open_store(store)
    assert isinstance(storage, S3Storage)
    await storage.put(KEY, DATA, "image/jpeg")

    link = await storage.link(KEY, 60)

    assert link is not None
    assert "X-Amz-Expires=60" in link
    async with httpx.AsyncClient() as browser:
        response = await browser.get(link)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "private, no-store"


async def test_the_filesystem_store_shards_writes_whole_files_and_makes_no_links(tmp_path: Path) -> None:
    storage = FilesystemStorage(tmp_path)

    await storage.put(KEY, DATA, "image/jpeg")

    assert storage.path(KEY) == tmp_path / KEY[:2] / KEY[2:4] / KEY
    files = await asyncio.to_thread(lambda: [path for path in tmp_path.rglob("*") if path.is_file()])
    assert files == [storage.path(KEY)]
    assert await storage.get(KEY) == DATA
    assert await storage.link(KEY, 60) is None


@pytest.mark.parametrize("key", ["../../etc/passwd", KEY.upper(), KEY[:-1], f"{KEY}/x", ""])
async def test_the_filesystem_store_takes_only_content_keys(tmp_path: Path, key: str) -> None:
    storage = FilesystemStorage(tmp_path / "photos")

    with pytest.raises(ValueError, match="SHA-256"):
        await storage.put(key, DATA, "image/jpeg")
    assert not (tmp_path / "photos").exists()


def test_s3_photos_need_a_bucket_and_its_keys() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, photo_storage=PhotoStorageKind.s3, photo_s3_bucket="photos")

    assert "TANPUHUI_PHOTO_S3_ACCESS_KEY_ID" in str(refused.value)
    assert "TANPUHUI_PHOTO_S3_SECRET_ACCESS_KEY" in str(refused.value)
    assert "TANPUHUI_PHOTO_S3_BUCKET" not in str(refused.value)


def test_the_s3_secret_never_shows_in_the_settings(s3_server: S3Server) -> None:
    settings = Settings(_env_file=None, **s3_server.settings("photos"))

    assert S3Server.SECRET_KEY not in repr(settings)
    assert S3Server.SECRET_KEY not in str(settings)
    assert S3Server.SECRET_KEY not in settings.model_dump_json()
    assert S3Server.SECRET_KEY not in repr(storage_for(settings))
