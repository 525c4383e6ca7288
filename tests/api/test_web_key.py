"""The web map on a server with ``public_read`` off: the page asks for an API key, keeps it in
sessionStorage, sends it as ``X-API-Key`` and says clearly when it is missing, wrong or not enough.

Real headless Chromium against a real server (``FIREREACH_PUBLIC_READ=false``) on the analysed
Helsinki workspace; a viewer key is created in the workspace store as ``firereach create-key`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from api.auth import HEADER, create_key
from api.store import open_store
from tests.api.server import Server, copy_workspace, running_server
from tests.browser import PageWatch, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request, Route

SHOTS = Path(__file__).resolve().parents[2] / "out" / "test_web"
KEY_ITEM = "firereach.apiKey"


@pytest.fixture(scope="module")
def closed_ws(tmp_path_factory: pytest.TempPathFactory, helsinki_workspace: Path) -> tuple[Path, str]:
    """A copy of the Helsinki workspace and a viewer key in its store."""
    ws = copy_workspace(helsinki_workspace, tmp_path_factory.mktemp("web_key") / "ws")
    store = open_store(ws)
    try:
        key = create_key(store, "viewer", "web map test")
    finally:
        store.close()
    return ws, key


@pytest.fixture(scope="module")
def closed_server(closed_ws: tuple[Path, str]) -> Iterator[Server]:
    with running_server(closed_ws[0], env={"FIREREACH_PUBLIC_READ": "false"}) as s:
        yield s


@pytest.fixture(scope="module")
def viewer_key(closed_ws: tuple[Path, str]) -> str:
    return closed_ws[1]



def _matched(server: Server, collection: str, key: str) -> int:
    with httpx.Client(base_url=server.url, timeout=30, headers={HEADER: key}) as client:
        r = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1})
        r.raise_for_status()
        return int(r.json()["numberMatched"])


def _only_key_refusals(watch: PageWatch, codes: tuple[int, ...] = (401,)) -> list[str]:
    """Problems other than the refusals the test provokes (and Chromium's console line for each)."""
    refused = tuple(f"HTTP {c}" for c in codes)
    statuses = tuple(f"status of {c}" for c in codes)
    return [p for p in watch.problems()
            if not (p.startswith("failed request") and p.endswith(refused))
            and not (p.startswith("console error") and any(s in p for s in statuses))]


def _hydrants(page: Page) -> int:
    return int(page.locator("path.fr-hydrant").count())


def test_server_really_needs_a_key(closed_server: Server, viewer_key: str) -> None:
    with httpx.Client(base_url=closed_server.url, timeout=30) as client:
        assert client.get("/").status_code == 200
        assert client.get("/web/config.json").status_code == 200
        assert client.get("/ogc/collections").status_code == 401
        assert client.get("/ogc/collections", headers={HEADER: viewer_key}).status_code == 200


def test_page_asks_for_a_key_then_draws_with_it(
    page: Page, closed_server: Server, viewer_key: str
) -> None:
    watch = PageWatch.attach(page)
    sent: list[tuple[str, str | None]] = []

    def on_request(request: Request) -> None:
        if "/ogc/" in request.url:
            sent.append((request.url, request.headers.get(HEADER.lower())))

    page.on("request", on_request)
    page.goto(closed_server.url + "/", wait_until="load")

    # 1. No key yet: the form in the bar asks for one; nothing is drawn.
    form = page.locator("#key-form")
    form.wait_for(state="visible", timeout=30_000)
    assert "需要 API 密钥" in page.locator("#key-msg").inner_text()
    assert page.locator("#status").inner_text() == "需要 API 密钥"
    assert page.locator("#key-forget").is_hidden()
    assert _hydrants(page) == 0
    assert sent and all(k is None for _, k in sent)
    page.locator("#lang").click()
    assert "needs an API key" in page.locator("#key-msg").inner_text()
    page.locator("#lang").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "web_key_needed.png"))

    # 2. A wrong key: a clear error, the form stays, the key is not kept. (Requests of step 1 still
    # in flight on a loaded machine, from the language switch, must not count as this step's.)
    page.wait_for_load_state("networkidle")
    sent.clear()
    page.fill("#key-input", "frk_000000000000_not-a-real-key")
    page.locator("#key-form button[type=submit]").click()
    wait_until(page, "document.getElementById('key-msg').textContent.includes('无效')", timeout=30_000)
    assert form.is_visible()
    assert sent and all(k == "frk_000000000000_not-a-real-key" for _, k in sent)
    assert page.evaluate(f"() => sessionStorage.getItem('{KEY_ITEM}')") is None
    assert _hydrants(page) == 0
    page.screenshot(path=str(SHOTS / "web_key_wrong.png"))

    # 3. The viewer key: the form goes away and the layers draw; every request carries the key.
    page.wait_for_load_state("networkidle")
    sent.clear()
    page.fill("#key-input", viewer_key)
    page.press("#key-input", "Enter")
    form.wait_for(state="hidden", timeout=30_000)
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    wait_until(page, "document.querySelectorAll('path.fr-hydrant').length > 0", timeout=60_000)
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    assert _hydrants(page) == _matched(closed_server, "hydrants_analysis", viewer_key)
    assert page.locator("path.fr-road").count() > 0
    assert sent and all(k == viewer_key for _, k in sent), sent
    assert page.evaluate(f"() => sessionStorage.getItem('{KEY_ITEM}')") == viewer_key
    assert page.evaluate("() => localStorage.length") == 0
    assert page.locator("#key-forget").is_visible()
    assert "已加载" in page.locator("#status").inner_text()
    page.screenshot(path=str(SHOTS / "web_key_ok.png"))

    # 4. A reload in the same tab keeps the key: no question asked.
    page.reload(wait_until="load")
    wait_until(page, "document.querySelectorAll('path.fr-hydrant').length > 0", timeout=60_000)
    assert page.locator("#key-form").is_hidden()

    # 5. Forget: the key and everything read with it are gone; the page asks again.
    page.locator("#key-forget").click()
    form.wait_for(state="visible", timeout=30_000)
    assert "需要 API 密钥" in page.locator("#key-msg").inner_text()
    assert page.evaluate(f"() => sessionStorage.getItem('{KEY_ITEM}')") is None
    assert _hydrants(page) == 0 and page.locator("path.fr-road").count() == 0
    assert page.locator("#key-forget").is_hidden()
    assert _only_key_refusals(watch) == [], _only_key_refusals(watch)


def test_key_without_read_permission_is_reported(page: Page, closed_server: Server) -> None:
    # Every role may read today, so a 403 is played by the browser: the page must still say so.
    def refuse(route: Route) -> None:
        route.fulfill(status=403, json={"detail": "API key 9 (x) has role 'none'"})

    page.route("**/ogc/**", refuse)
    watch = PageWatch.attach(page)
    page.add_init_script(f"sessionStorage.setItem('{KEY_ITEM}', 'frk_somebodys_key')")
    page.goto(closed_server.url + "/?lang=en", wait_until="load")
    page.locator("#key-form").wait_for(state="visible", timeout=30_000)
    assert "may not read the layers" in page.locator("#key-msg").inner_text()
    # a valid key of the wrong role stays (it may be forgotten with the button)
    assert page.locator("#key-forget").is_visible()
    assert page.evaluate(f"() => sessionStorage.getItem('{KEY_ITEM}')") == "frk_somebodys_key"
    page.unroute_all(behavior="ignoreErrors")
    assert _only_key_refusals(watch, (403,)) == [], _only_key_refusals(watch, (403,))
