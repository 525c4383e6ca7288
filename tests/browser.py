"""Headless Chromium for tests of pages (the map, later the web map), driven by Playwright.

The browser is Debian's ``/usr/bin/chromium`` (``scripts/ensure-chromium.sh`` installs it);
Playwright's own browser download (``playwright install``) is never used. Tests that use the
fixtures skip cleanly when Chromium or the ``playwright`` package is missing.

Use the fixtures ``browser`` (one per session) and ``page`` by naming this module as a plugin
in ``tests/conftest.py`` (``pytest_plugins = ["tests.browser"]``), then::

    def test_page(page: Page, tmp_path: Path) -> None:
        watch = PageWatch.attach(page)
        with serve_directory(tmp_path) as base:
            page.goto(f"{base}/map.html")
        assert watch.problems() == []

Or, without the plugin, wrap the helpers in fixtures of your own module::

    @pytest.fixture(scope="module")
    def chromium() -> Iterator[Browser]:
        with launch_chromium() as b:
            yield b

"""

from __future__ import annotations

import base64
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
LOCAL_SCHEMES = frozenset({"file", "data", "blob", "about"})


def chromium_or_skip() -> Path:
    """Path of Debian's Chromium, or skip the test and say how to install it (fail under CI)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("playwright not installed (pip install playwright)")
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} not found: run `bash scripts/ensure-chromium.sh` as root")
    return CHROMIUM


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Start headless Chromium through Playwright; close it on exit."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the test session."""
    with launch_chromium() as b:
        yield b


@contextmanager
def new_page(browser: Browser) -> Iterator[Page]:
    """A fresh page (its own context: no shared cache or storage) at 1280 × 800."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page for each test (see :func:`new_page`)."""
    with new_page(browser) as p:
        yield p


def wait_until(page: Page, expression: str, *, timeout: float = 30_000) -> None:
    """Wait until the JavaScript ``expression`` is truthy in ``page`` (``timeout`` in ms).

    Polls with ``page.evaluate`` (DevTools evaluation, which the page's Content-Security-Policy
    does not govern): ``page.wait_for_function`` compiles its predicate inside the page, which the
    server's CSP (no ``'unsafe-eval'``) rightly refuses.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} ms for {expression}")
        page.wait_for_timeout(100)


def is_local(url: str) -> bool:
    """Whether loading ``url`` stays on this machine (file:, data:, loopback http)."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS


@dataclass
class PageWatch:
    """Everything a page asked for and complained about, collected from its events."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Page) -> PageWatch:
        """Start watching ``page`` (call before ``goto``)."""
        watch = cls()

        def on_request(request: Request) -> None:
            watch.requests.append(request.url)

        def on_failed(request: Request) -> None:
            watch.failed.append(f"{request.url}: {request.failure}")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                watch.failed.append(f"{response.url}: HTTP {response.status}")

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                watch.console_errors.append(message.text)

        def on_page_error(error: Any) -> None:
            watch.page_errors.append(str(error))

        page.on("request", on_request)
        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return watch

    def non_local(self) -> list[str]:
        """Requests that left the machine (or tried to)."""
        return [url for url in self.requests if not is_local(url)]

    def superseded(self) -> list[str]:
        """Feature pages the page itself cancelled (``net::ERR_ABORTED``): a newer load of the
        same layer (the view moved, e.g. a popup panned it) aborts the one in flight by design
        (``abortLoad`` in ``api/web/app.js``); on a loaded machine a load is still in flight more
        often."""
        return [f for f in self.failed
                if f.endswith("net::ERR_ABORTED") and "/ogc/collections/" in f and "/items?" in f]

    def problems(self) -> list[str]:
        """Failed (but not :meth:`superseded`) and non-local requests, console errors and
        uncaught exceptions, labelled."""
        superseded = set(self.superseded())
        return (
            [f"failed request {u}" for u in self.failed if u not in superseded]
            + [f"non-local request {u}" for u in self.non_local()]
            + [f"console error {m}" for m in self.console_errors]
            + [f"page error {m}" for m in self.page_errors]
        )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_IMAGE_STATS_JS = """
async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0, sum = 0, sq = 0;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4) {
        const grey = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        sum += grey; sq += grey * grey; n += 1;
        if (colours.size < 5000) colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    }
    const mean = sum / n;
    return {width: canvas.width, height: canvas.height, mean: mean,
            std: Math.sqrt(Math.max(sq / n - mean * mean, 0)), colours: colours.size};
}
"""


def image_stats(page: Page, png: bytes) -> dict[str, float]:
    """Size, grey-level mean and standard deviation and colour count of a PNG (via the browser).

    Decodes with Chromium's own canvas so that tests need no imaging package.
    """
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    scratch = page.context.new_page()
    try:
        return dict(scratch.evaluate(_IMAGE_STATS_JS, src))
    finally:
        scratch.close()
