"""The S3-compatible photo store (AWS S3, MinIO, Ceph, and the Chinese clouds' S3 interfaces).

boto3 is synchronous: every call runs in a worker thread. Its client is safe to share between threads.
Requests use path-style addressing (`endpoint/bucket/key`), which every S3-compatible server accepts, and
send checksums only where the API requires one, as not every such server understands the newer ones.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from service.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}
# What a link's response carries, so that no browser or proxy keeps a copy of a resident's photo.
_NO_STORE = "private, no-store"


class S3Storage:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        assert settings.photo_s3_bucket is not None
        assert settings.photo_s3_secret_access_key is not None
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.photo_s3_endpoint_url,
            region_name=settings.photo_s3_region,
            aws_access_key_id=settings.photo_s3_access_key_id,
            aws_secret_access_key=settings.photo_s3_secret_access_key.get_secret_value(),
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, settings.photo_s3_bucket)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=_NO_STORE,
        )

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if _missing(exc):
                    return None
                raise

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    async def exists(self, key: str) -> bool:
        def head() -> bool:
            try:
                self._client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _missing(exc):
                    return False
                raise
            return True

        return await asyncio.to_thread(head)

    async def link(self, key: str, ttl_s: int) -> str | None:
        """A presigned GET URL: the bucket itself checks the signature and the expiry."""
        return await asyncio.to_thread(
            self._client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseCacheControl": _NO_STORE},
            ExpiresIn=ttl_s,
        )


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING
