"""A photo as it is kept: decoded to prove it is an image, turned upright, re-encoded without metadata.

Only what decodes as JPEG, PNG or WebP is taken; what a client says the file is decides nothing. EXIF
(GPS positions, the camera and its owner, times), XMP, IPTC, ICC profiles, PNG text chunks and anything
else beside the pixels is left behind: the new file is written from the pixels alone, after the EXIF
orientation has been applied so that the picture still stands the right way up. The format stays what it
was. This is CPU work: callers run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from service.photos.errors import PhotoNotImage, PhotoTooLarge
from service.photos.models import PhotoType

# Pillow's format names, and the content type each is kept as. An MPO is a JPEG with further pictures
# after the first (depth maps, HDR gain maps: many phones write them); its first picture is the photo.
_FORMATS = {"JPEG": PhotoType.jpeg, "MPO": PhotoType.jpeg, "PNG": PhotoType.png, "WEBP": PhotoType.webp}
# The decoders tried: Pillow's JPEG decoder is the one that opens an MPO.
_DECODERS = ["JPEG", "PNG", "WEBP"]
# Pixel modes each format is written in as they are; anything else is converted to RGB, or RGBA if it
# has transparency (JPEG has none).
_KEPT_MODES = {PhotoType.jpeg: {"L", "RGB"}, PhotoType.png: {"L", "LA", "RGB", "RGBA"}, PhotoType.webp: {"RGB", "RGBA"}}
_SAVE: dict[PhotoType, tuple[str, dict[str, Any]]] = {
    PhotoType.jpeg: ("JPEG", {"quality": 90}),
    PhotoType.png: ("PNG", {}),
    PhotoType.webp: ("WEBP", {"quality": 90, "method": 4}),
}


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    data: bytes
    sha256: bytes
    content_type: PhotoType
    width: int
    height: int


def clean(data: bytes, *, max_pixels: int) -> CleanPhoto:
    """The photo re-encoded from its pixels alone; PhotoNotImage for anything that is not a JPEG, PNG or
    WebP image, PhotoTooLarge for one of more than `max_pixels` pixels (checked before it is decoded)."""
    try:
        image = Image.open(io.BytesIO(data), formats=_DECODERS)
    except Image.DecompressionBombError:
        raise PhotoTooLarge(*_too_many_pixels(max_pixels)) from None
    except (UnidentifiedImageError, ValueError, OSError):
        raise PhotoNotImage from None
    with image:
        content_type = _FORMATS[str(image.format)]
        if image.width * image.height > max_pixels:
            raise PhotoTooLarge(*_too_many_pixels(max_pixels))
        try:
            image.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise PhotoNotImage("The image data is damaged or incomplete.", "图片数据已损坏或不完整。") from None
        upright = _upright(image)
    pixels = _pixels_only(upright, content_type)
    out = io.BytesIO()
    format_name, options = _SAVE[content_type]
    pixels.save(out, format_name, **options)
    stored = out.getvalue()
    return CleanPhoto(stored, hashlib.sha256(stored).digest(), content_type, pixels.width, pixels.height)


def _too_many_pixels(max_pixels: int) -> tuple[str, str]:
    return (
        f"The image has more than {max_pixels / 1_000_000:g} million pixels.",
        f"图片超过 {max_pixels / 10_000:g} 万像素。",
    )


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as it is when its EXIF cannot be read."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        return image.copy()


def _pixels_only(image: Image.Image, content_type: PhotoType) -> Image.Image:
    """An image of the same pixels in a mode the format writes, carrying nothing else."""
    if image.mode not in _KEPT_MODES[content_type]:
        transparent = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if transparent and content_type is not PhotoType.jpeg else "RGB")
    # Encoders read some metadata (an ICC profile, PNG text) from `info` when not given it: keep none.
    image.info = {}
    return image
