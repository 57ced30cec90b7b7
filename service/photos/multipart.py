"""One photo read from a multipart/form-data body, as the mini-program's `wx.uploadFile` sends it.

The body is parsed as it arrives and never held beyond the limit: a photo part larger than `max_bytes`,
or a body larger than that and some room for boundaries, part headers and small form fields, is refused
as soon as it gets there. A part that says it is something other than a JPEG, PNG or WebP image is
refused before its data is read; one that says nothing, or `application/octet-stream`, is read, and the
decoder (images.py) decides what it is. Other form fields are read past and dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from service.photos.errors import PhotoNotImage, PhotoTooLarge, PhotoUploadMalformed
from service.photos.models import PhotoType

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FIELD = "file"
# Boundaries, part headers and the small fields a client may send beside the photo.
ALLOWANCE_BYTES = 64 * 1024
# What a client may call a photo it does not know the type of.
_UNDECLARED = {"", "application/octet-stream"}
_DECLARABLE = {member.value for member in PhotoType} | {"image/jpg", "image/pjpeg"}


class _Reader:
    """The parser's callbacks: collects each part's headers and the photo part's bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.photo: bytearray | None = None
        self.finished = False
        self._in_photo = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        if options.get(b"name", b"").decode("latin-1") != FIELD:
            return
        if self.photo is not None:
            raise PhotoUploadMalformed("Send one photo per request.", "每次请求只能上传一张照片。")
        declared = parse_options_header(self._headers.get("content-type", ""))[0].decode("latin-1").lower()[:100]
        if declared not in _UNDECLARED | _DECLARABLE:
            raise PhotoNotImage(
                f"A {declared} file is not taken; send a JPEG, PNG or WebP photo.",
                f"不接受 {declared} 文件，请上传 JPEG、PNG 或 WebP 照片。",
            )
        self.photo = bytearray()
        self._in_photo = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_photo:
            assert self.photo is not None
            self.photo.extend(data[start:end])
            if len(self.photo) > self.max_bytes:
                raise PhotoTooLarge(*too_large(self.max_bytes))

    def _part_end(self) -> None:
        self._in_photo = False

    def _end(self) -> None:
        self.finished = True


def too_large(max_bytes: int) -> tuple[str, str]:
    size = f"{max_bytes / (1024 * 1024):g} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    return f"A photo may be at most {size}.", f"照片最大 {size}。"


async def read_photo(content_type: str | None, body: AsyncIterator[bytes], *, max_bytes: int) -> bytes:
    """The one photo of a multipart/form-data body, read from `body` as it arrives."""
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise PhotoUploadMalformed
    reader = _Reader(max_bytes)
    received = 0
    try:
        parser = MultipartParser(boundary, reader.callbacks())
        async for chunk in body:
            received += len(chunk)
            if received > max_bytes + ALLOWANCE_BYTES:
                raise PhotoTooLarge(*too_large(max_bytes))
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise PhotoUploadMalformed from None
    if reader.photo is None or not reader.finished:
        raise PhotoUploadMalformed
    return bytes(reader.photo)
