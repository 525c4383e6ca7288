"""Test helpers for the API: a real uvicorn server process, an in-process ASGI client, workspaces.

``running_server(workspace)`` starts ``python -m api.cli serve`` on 127.0.0.1 with a free port and
yields a :class:`Server` (``server.url`` is the base URL) once ``/health`` answers; it stops the
process (SIGTERM, then SIGKILL) on exit. ``server_url(workspace)`` yields just the URL. Every wait
is bounded; nothing listens beyond loopback.

``asgi_client(app)`` runs the app's lifespan (start-up and shutdown, which
:class:`httpx.ASGITransport` does not) around an :class:`httpx.AsyncClient`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[2]
TINY_OSM = REPO / "data" / "fixtures" / "tiny_compound.osm"
HELSINKI_HYDRANTS = REPO / "data" / "fixtures" / "hydrants_helsinki.csv"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``firereach serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the server process (no shutdown code runs) and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, *, timeout_s: float = 20.0) -> None:
        """Graceful stop (SIGTERM), SIGKILL after ``timeout_s``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait_ready(server: Server, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with code {server.process.returncode}:\n{server.log()[-4000:]}"
                )
            try:
                if client.get(f"{server.url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"server not ready after {timeout_s:.0f} s:\n{server.log()[-4000:]}")


def start_server(
    workspace: Path,
    *,
    env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
    timeout_s: float = 120.0,
    attempts: int = 3,
) -> Server:
    """Start ``firereach serve --workspace WORKSPACE`` on a free loopback port; wait until ready.

    Parameters
    ----------
    workspace
        Output folder of ``firereach analyze`` (or ``demo``).
    env
        Extra environment variables (``FIREREACH_*`` settings).
    log_dir
        Where the server log goes (default: the workspace folder).
    timeout_s
        Longest wait for ``/health`` to answer.
    attempts
        Tries with a new port when the chosen one was taken in between.
    """
    full_env = {**os.environ, **(env or {})}
    log_dir = Path(log_dir or workspace)
    last: Exception | None = None
    for attempt in range(attempts):
        port = free_port()
        log_path = log_dir / f"server-{port}-{attempt}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--workspace", str(workspace),
                 "--host", "127.0.0.1", "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(workspace),
            )
        server = Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        try:
            _wait_ready(server, timeout_s)
            return server
        except (RuntimeError, TimeoutError) as exc:
            server.kill()
            last = exc
            if "address already in use" not in server.log().lower():
                raise
    raise RuntimeError(f"no free port after {attempts} attempts") from last


@contextmanager
def running_server(
    workspace: Path, *, env: Mapping[str, str] | None = None, timeout_s: float = 120.0
) -> Iterator[Server]:
    """A real server on ``workspace`` for the duration of the block (see :func:`start_server`)."""
    server = start_server(workspace, env=env, timeout_s=timeout_s)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def server_url(workspace: Path, *, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Like :func:`running_server`, yielding only the base URL."""
    with running_server(workspace, env=env) as server:
        yield server.url


@asynccontextmanager
async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of ``app`` with its lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def build_workspace(
    out: Path, *, osm: Path | None = None, hydrants: Path | None = None,
    districts: Path | None = None,
) -> Path:
    """Run ``firereach analyze`` (the library call) into ``out``; default: the tiny fixture."""
    from api.pipeline import LayersRequest, run_analyze
    from api.settings import Settings
    from routing.analysis import AnalysisOptions

    request = LayersRequest(osm=osm or TINY_OSM, hydrants=hydrants, districts=districts)
    run_analyze(request, out=out, settings=Settings(), options=AnalysisOptions())
    return out


def copy_workspace(source: Path, dest: Path) -> Path:
    """A fresh copy of a workspace's layers (without its store) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("layers.gpkg", "summary.json"):
        if (source / name).exists():
            shutil.copy2(source / name, dest / name)
    return dest
