"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with their
scripts and styles vendored in the package (``api/web/vendor/``): nothing from a CDN.

``api/web/vendor/README.md`` lists the files, versions, licences and where they came from. Swagger
UI's page starts it with one inline script; the page's ``Content-Security-Policy`` allows that
script by its SHA-256 and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse

VENDOR_DIR = Path(__file__).resolve().parents[1] / "web" / "vendor"
_PREFIX = "/static/docs"
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".png": "image/png"}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(tags=["docs"], include_in_schema=False)


def docs_policy(html: str) -> str:
    """The CSP of a docs page: this server only, its inline scripts allowed by their hashes,
    inline styles and ``blob:`` workers (ReDoc's)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join([
        "default-src 'self'", f"script-src 'self' {hashes}".strip(),
        "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "connect-src 'self'",
        "worker-src 'self' blob:", "font-src 'self' data:", "object-src 'none'", "base-uri 'none'",
        "frame-ancestors 'none'",
    ])


def _page(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode("utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(html),
                                       "Cache-Control": "no-cache"})


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the OpenAPI document."""
    app = request.app
    return _page(get_swagger_ui_html(
        openapi_url=app.openapi_url, title=f"{app.title} – Swagger UI",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{_PREFIX}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{_PREFIX}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{_PREFIX}/swagger-ui/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
    ))


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page (FastAPI's)."""
    return _page(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the OpenAPI document."""
    app = request.app
    return _page(get_redoc_html(
        openapi_url=app.openapi_url, title=f"{app.title} – ReDoc",
        redoc_js_url=f"{_PREFIX}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{_PREFIX}/swagger-ui/favicon-32x32.png", with_google_fonts=False,
    ))


@router.get(_PREFIX + "/{package}/{name}")
def docs_asset(package: str, name: str) -> FileResponse:
    """A vendored Swagger UI or ReDoc file."""
    root = VENDOR_DIR / package if package in ("swagger-ui", "redoc") else None
    path = None if root is None else root / name
    if path is None or path.suffix not in _MEDIA or not path.is_file() or path.parent != root:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "no-cache"})
