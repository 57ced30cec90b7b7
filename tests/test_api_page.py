"""/docs, the API's Swagger UI page: everything it loads comes from the service itself, under a policy that
forbids anything else, and it is off in production unless asked for."""

from __future__ import annotations

import re

import httpx


async def test_the_api_page_loads_only_from_the_service_under_a_strict_policy(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "http" not in page.text  # no CDN, no absolute address of any kind
    assert "<script>" not in page.text  # no inline script: the policy would refuse it
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(loaded) == [
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/start.js",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    for path in loaded:
        asset = await client.get(path)
        assert asset.status_code == 200, path
        assert asset.headers["content-security-policy"] == policy
        assert len(asset.content) > 100
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert b'url: "/openapi.json"' in (await client.get("/docs/assets/start.js")).content
    assert (await client.get("/openapi.json")).status_code == 200


async def test_no_other_file_is_served_from_the_assets(client: httpx.AsyncClient) -> None:
    for name in ("index.html", "..%2F..%2F__init__.py", "swagger-ui-bundle.js.map", "oauth2-redirect.html"):
        assert (await client.get(f"/docs/assets/{name}")).status_code == 404, name
    assert (await client.get("/redoc")).status_code == 404  # FastAPI's own page loads from a CDN
