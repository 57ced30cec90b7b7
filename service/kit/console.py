"""The web console for operators, auditors and enterprises, at /console/: the bundle Vite builds from
console/ into service/console/, shipped in the package, so that running the service needs only Python.
Nothing loads from another origin, under a Content-Security-Policy that forbids it; hashed assets are
cached for good, the page itself never.

`build-stamp.json` in the bundle holds `sources_digest()` of the sources it was built from (console's
vite.config.ts computes it the same way), so a test can tell a bundle built from other sources.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

BUNDLE = Path(__file__).resolve().parents[1] / "console"
# What the bundle is built from, relative to the console's folder (vite.config.ts lists the same).
SOURCES = ("index.html", "package-lock.json", "tsconfig.json", "vite.config.ts", "src")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_SECURITY = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
_PAGE = {**_SECURITY, "cache-control": "no-cache"}
_ASSET = {**_SECURITY, "cache-control": "public, max-age=31536000, immutable"}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2"}


def sources_digest(console_dir: Path) -> str:
    """sha256 over each source file's path (relative, with /) and bytes, in path order."""
    paths = sorted(
        path.relative_to(console_dir).as_posix()
        for source in SOURCES
        for path in ([console_dir / source] if (console_dir / source).is_file() else (console_dir / source).rglob("*"))
        if path.is_file()
    )
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode() + b"\0")
        digest.update((console_dir / path).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def built_from() -> str | None:
    """The sources digest the shipped bundle was built from; None when there is no bundle."""
    stamp = BUNDLE / "build-stamp.json"
    return str(json.loads(stamp.read_text())["sources_sha256"]) if stamp.is_file() else None


def install(app: FastAPI) -> None:
    """Serve the console: /console/ is its page, /console/assets/* its hashed files."""

    @app.get("/console", include_in_schema=False)
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=308)

    @app.get("/console/", include_in_schema=False)
    async def console_page() -> Response:
        return FileResponse(BUNDLE / "index.html", media_type="text/html", headers=_PAGE)

    @app.get("/console/assets/{name}", include_in_schema=False)
    async def console_asset(name: str) -> Response:
        path = BUNDLE / "assets" / name
        media_type = _TYPES.get(path.suffix)
        if media_type is None or "/" in name or not path.is_file():
            raise HTTPException(status_code=404)
        return FileResponse(path, media_type=media_type, headers=_ASSET)
