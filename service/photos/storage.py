"""Where photo bytes are kept: the interface, the filesystem backend, and the choice between it and S3.

Objects are named by a key the caller makes from the content (`key_for`), so a store holds each content
once. A store never learns who a photo belongs to; the photos table does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from service.config import PhotoStorageKind, Settings

_KEY = re.compile(r"^[0-9a-f]{64}$")


def key_for(sha256: bytes) -> str:
    """The key of the object holding content with this SHA-256: its hex digest."""
    return sha256.hex()


class PhotoStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there; `content_type` is what a link serves it as."""

    async def get(self, key: str) -> bytes | None:
        """The object's bytes; None when there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is no error."""

    async def exists(self, key: str) -> bool: ...

    async def link(self, key: str, ttl_s: int) -> str | None:
        """A URL that serves the object without the service for the next `ttl_s` seconds; None for a store
        that cannot give one (the filesystem), whose objects the service serves through its own signed
        links (links.py)."""


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError("a photo key is a SHA-256 in lowercase hex")
    return key


class FilesystemStorage:
    """Objects as files under `root`, two folder levels deep by the key's first characters
    (`ab/cd/abcd…`), so that no folder grows past 256 entries of folders. A file appears whole or not
    at all: it is written to a temporary name beside its place, flushed to disk, then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(_write_atomically, self.path(key), data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(_read_if_there, self.path(key))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def link(self, key: str, ttl_s: int) -> str | None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _read_if_there(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def storage_for(settings: Settings) -> PhotoStorage:
    """The store the settings name: a folder under the data folder, or an S3-compatible bucket."""
    if settings.photo_storage is PhotoStorageKind.s3:
        # boto3 takes a while to import; a deployment that keeps photos on disk never loads it
        from service.photos.s3 import S3Storage

        return S3Storage.from_settings(settings)
    return FilesystemStorage(settings.photos_dir)
