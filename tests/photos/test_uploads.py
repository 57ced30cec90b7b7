"""A resident uploads a photo: what is kept has no metadata, stands upright, and is stored once per content;
what is not a JPEG, PNG or WebP photo, or is too large, is refused and nothing of it is kept."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from PIL import Image

from service.photos.storage import key_for
from tests.conftest import Api, bearer
from tests.fixtures.photos import (
    BLUE,
    BOTH_STORES,
    RED,
    UPLOAD,
    Store,
    Tokens,
    gif,
    jpeg_with_gps,
    mpo_with_gps,
    noisy_png,
    photo_rows,
    png_chunks,
    png_with_text,
    problem_code,
    upload,
    uploaded,
    webp_with_gps,
)

SignIn = Callable[[str], Awaitable[Tokens]]


async def stored_bytes(api: Api, photo: dict[str, Any]) -> bytes:
    data = await api.app.state.photo_storage.get(key_for(bytes.fromhex(photo["sha256"])))
    assert isinstance(data, bytes)
    return data


def near(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(int(a) - b) < 40 for a, b in zip(pixel, colour, strict=True))


@BOTH_STORES
async def test_a_jpeg_is_kept_upright_without_its_exif_gps_or_xmp(
    api: Api, store: Store, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    sent = jpeg_with_gps()
    assert b"Exif" in sent
    assert b"xmpmeta" in sent

    photo = await uploaded(api.client, tokens, sent)

    kept = await stored_bytes(api, photo)
    assert b"Exif" not in kept
    assert b"xmpmeta" not in kept
    assert b"PhoneMaker" not in kept
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile"} & set(image.info)
    # 48 × 24, red left and blue right, marked "turn 90° clockwise": upright it is 24 × 48, red on top
    assert image.size == (24, 48)
    assert (photo["width"], photo["height"]) == (24, 48)
    rgb = image.convert("RGB")
    assert near(rgb.getpixel((12, 6)), RED)
    assert near(rgb.getpixel((12, 42)), BLUE)
    assert photo["content_type"] == "image/jpeg"
    assert photo["sha256"] == hashlib.sha256(kept).hexdigest()
    assert photo["size_bytes"] == len(kept)
    assert store.objects() == {photo["sha256"]}


async def test_a_png_loses_its_text_and_exif_chunks_and_keeps_its_pixels(api: Api, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")
    sent = png_with_text()
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf"} <= set(png_chunks(sent))

    photo = await uploaded(api.client, tokens, sent, filename="sorting.png", content_type="image/png")

    kept = await stored_bytes(api, photo)
    assert set(png_chunks(kept)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert b"38.99N" not in kept
    assert photo["content_type"] == "image/png"
    assert Image.open(io.BytesIO(kept)).tobytes() == Image.open(io.BytesIO(sent)).tobytes()


async def test_a_webp_stays_webp_without_its_exif_or_xmp(api: Api, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")
    sent = webp_with_gps()
    assert b"EXIF" in sent

    photo = await uploaded(api.client, tokens, sent, filename="sorting.webp", content_type="image/webp")

    kept = await stored_bytes(api, photo)
    assert kept[:4] == b"RIFF"
    assert kept[8:12] == b"WEBP"
    assert b"EXIF" not in kept
    assert b"XMP " not in kept
    assert b"xmpmeta" not in kept
    assert photo["content_type"] == "image/webp"


async def test_a_photo_sent_as_octet_stream_is_taken_for_what_it_decodes_as(api: Api, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")

    photo = await uploaded(
        api.client, tokens, png_with_text(), filename="tmp_1a2b", content_type="application/octet-stream"
    )

    assert photo["content_type"] == "image/png"


async def test_a_jpeg_with_more_pictures_after_it_is_kept_as_its_first_picture_alone(
    api: Api, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    sent = mpo_with_gps()
    assert Image.open(io.BytesIO(sent)).format == "MPO"

    photo = await uploaded(api.client, tokens, sent)

    kept = Image.open(io.BytesIO(await stored_bytes(api, photo)))
    assert kept.format == "JPEG"
    assert getattr(kept, "n_frames", 1) == 1
    assert not kept.getexif()
    assert near(kept.convert("RGB").getpixel((6, 12)), RED)


@BOTH_STORES
async def test_the_same_photo_uploaded_twice_is_stored_once(api: Api, store: Store, sign_in_resident: SignIn) -> None:
    alice, bob = await sign_in_resident("alice"), await sign_in_resident("bob")
    sent = jpeg_with_gps()

    first = await uploaded(api.client, alice, sent)
    again = await uploaded(api.client, alice, sent)
    bobs = await uploaded(api.client, bob, sent)

    assert len({first["photo_id"], again["photo_id"], bobs["photo_id"]}) == 3
    assert first["sha256"] == again["sha256"] == bobs["sha256"]
    assert store.objects() == {first["sha256"]}
    assert await photo_rows(api) == 3


async def test_a_photo_larger_than_any_json_body_may_be_is_taken(api: Api, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")
    sent = noisy_png(1000, 1000)
    assert api.settings.max_body_bytes < len(sent) < api.settings.photo_max_bytes

    photo = await uploaded(api.client, tokens, sent, filename="big.png", content_type="image/png")

    assert (photo["width"], photo["height"]) == (1000, 1000)


@pytest.mark.parametrize(
    ("size", "why"),
    [((90, 90), "the photo part passes the limit"), ((200, 200), "the body passes the limit and its margin")],
)
async def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_kept(
    make_api: Callable[..., Awaitable[Api]], store: Store, size: tuple[int, int], why: str
) -> None:
    api = await make_api(**store.settings(), photo_max_bytes=16 * 1024)
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()
    sent = noisy_png(*size)
    assert len(sent) > 16 * 1024, why

    response = await upload(api.client, tokens, sent, filename="big.png", content_type="image/png")

    assert response.status_code == 413
    assert problem_code(response) == "PHOTO_TOO_LARGE"
    assert store.objects() == set()
    assert await photo_rows(api) == 0


async def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(
    make_api: Callable[..., Awaitable[Api]], store: Store
) -> None:
    api = await make_api(**store.settings(), photo_max_pixels=100 * 100)
    tokens = (await api.client.post("/v1/auth/dev", json={"name": "alice"})).json()

    response = await upload(api.client, tokens, jpeg_with_gps(size=(200, 60)))

    assert response.status_code == 413
    assert problem_code(response) == "PHOTO_TOO_LARGE"
    assert store.objects() == set()


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"Recycling station receipt\n" * 20, "receipt.jpg", "image/jpeg"),
        (b"Recycling station receipt\n" * 20, "receipt.txt", "text/plain"),
        (gif(), "sorting.jpg", "image/jpeg"),
        (gif(), "sorting.gif", "image/gif"),
        (jpeg_with_gps()[:300], "cut-short.jpg", "image/jpeg"),
    ],
    ids=["text-named-jpg", "text-declared", "gif-named-jpg", "gif-declared", "truncated-jpeg"],
)
async def test_what_is_not_a_jpeg_png_or_webp_photo_is_refused_and_nothing_is_kept(
    api: Api, store: Store, sign_in_resident: SignIn, data: bytes, filename: str, content_type: str
) -> None:
    tokens = await sign_in_resident("alice")

    response = await upload(api.client, tokens, data, filename=filename, content_type=content_type)

    assert response.status_code == 415
    assert problem_code(response) == "PHOTO_NOT_IMAGE"
    assert store.objects() == set()
    assert await photo_rows(api) == 0


async def test_an_upload_that_is_not_one_file_in_a_form_is_refused(api: Api, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")
    headers = bearer(tokens)

    as_json = await api.client.post(UPLOAD, json={"file": "aGVsbG8="}, headers=headers)
    other_field = await api.client.post(
        UPLOAD, files={"photo": ("sorting.jpg", jpeg_with_gps(), "image/jpeg")}, headers=headers
    )
    two_files = await api.client.post(
        UPLOAD,
        files=[("file", ("a.jpg", jpeg_with_gps(), "image/jpeg")), ("file", ("b.jpg", jpeg_with_gps(), "image/jpeg"))],
        headers=headers,
    )
    cut_off = await api.client.post(
        UPLOAD,
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n' + jpeg_with_gps(),
        headers={**headers, "Content-Type": "multipart/form-data; boundary=xyz"},
    )

    for response in (as_json, other_field, two_files, cut_off):
        assert response.status_code == 400, response.text
        assert problem_code(response) == "PHOTO_UPLOAD_MALFORMED"
    assert await photo_rows(api) == 0


async def test_form_fields_beside_the_photo_are_ignored(api: Api, sign_in_resident: SignIn) -> None:
    tokens = await sign_in_resident("alice")

    response = await api.client.post(
        UPLOAD,
        data={"note": "kitchen waste"},
        files={"file": ("sorting.jpg", jpeg_with_gps(), "image/jpeg")},
        headers=bearer(tokens),
    )

    assert response.status_code == 201, response.text


async def test_uploading_needs_a_signed_in_resident(api: Api, store: Store) -> None:
    response = await api.client.post(UPLOAD, files={"file": ("sorting.jpg", jpeg_with_gps(), "image/jpeg")})

    assert response.status_code == 401
    assert problem_code(response) == "UNAUTHENTICATED"
    assert store.objects() == set()


async def test_a_resident_who_deleted_the_account_cannot_upload_with_a_token_not_yet_expired(
    api: Api, store: Store, sign_in_resident: SignIn
) -> None:
    tokens = await sign_in_resident("alice")
    assert (await api.client.delete("/v1/me", headers=bearer(tokens))).status_code == 204

    response = await upload(api.client, tokens, jpeg_with_gps())

    assert (response.status_code, response.json()["code"]) == (401, "TOKEN_REVOKED")
    assert await photo_rows(api) == 0
