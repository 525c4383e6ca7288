"""FireReach behind a reverse proxy: whose address the app believes, and the tested nginx example.

``FIREREACH_TRUSTED_PROXIES`` decides whether ``firereach serve`` believes ``X-Forwarded-For``;
without it (the default) a client that forges the header is still counted at its own address by
the rate limit. The nginx tests run ``deploy/nginx/firereach.conf`` (placeholders filled in) with
Debian's nginx (``scripts/ensure-nginx.sh``) in front of a real server, both on free loopback
ports, with a temporary prefix, pid file, logs and temp paths, plain and with its TLS lines turned
on (a test certificate from openssl); missing nginx skips here and fails under CI.

What the app saw is read from uvicorn's access log (``INFO: <client>:<port> - "GET ..."``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api.cli import uvicorn_proxy_options
from api.settings import Settings
from tests.api.server import REPO, Server, build_workspace, free_port, running_server
from tests.conftest import missing

TEMPLATE = REPO / "deploy" / "nginx" / "firereach.conf"
ADMIN_KEY = "reverse-proxy-test-admin-key-0123456789"
#: Forged client addresses (TEST-NET-3, RFC 5737: never a real client).
FORGED = [f"203.0.113.{i}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("tiny"))


def _seen_clients(server: Server, path: str) -> list[str]:
    """Client addresses of the access-log lines of ``path``, in order."""
    pattern = re.compile(r'(\S+):\d+ - "\w+ ' + re.escape(path) + r' HTTP')
    return pattern.findall(server.log())


def _wait_for_log(server: Server, path: str, count: int, timeout_s: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen = _seen_clients(server, path)
        if len(seen) >= count:
            return seen
        time.sleep(0.05)
    return _seen_clients(server, path)


# -- the setting -------------------------------------------------------------------------------


def test_no_trusted_proxy_by_default_turns_forwarded_headers_off() -> None:
    settings = Settings(_env_file=None)
    assert settings.trusted_proxies == ""
    assert uvicorn_proxy_options(settings) == {"proxy_headers": False}


def test_trusted_proxies_are_passed_to_uvicorn() -> None:
    settings = Settings(_env_file=None, trusted_proxies=" 127.0.0.1, ::1 ,10.0.0.0/8,")
    assert settings.trusted_proxies == "127.0.0.1,::1,10.0.0.0/8"
    assert uvicorn_proxy_options(settings) == {
        "proxy_headers": True, "forwarded_allow_ips": ["127.0.0.1", "::1", "10.0.0.0/8"]}
    assert uvicorn_proxy_options(Settings(_env_file=None, trusted_proxies="*"))[
        "forwarded_allow_ips"] == ["*"]


def test_a_trusted_proxy_must_be_an_address_or_network() -> None:
    with pytest.raises(ValidationError, match=r"not IP addresses or networks.*proxy\.example"):
        Settings(_env_file=None, trusted_proxies="127.0.0.1,proxy.example")


# -- a real server, no proxy --------------------------------------------------------------------


def test_forged_forwarded_for_from_a_direct_client_is_ignored(tiny_ws: Path) -> None:
    # Burst 3, refill 0.001/s: the 4th request of one address within the test is a 429. Each
    # request claims another address in X-Forwarded-For; untrusted, all four count against
    # 127.0.0.1, so the forgery neither hides the client nor dodges the limit.
    env = {"FIREREACH_RATE_LIMIT_BURST": "3", "FIREREACH_RATE_LIMIT_PER_S": "0.001",
           "FIREREACH_TRUSTED_PROXIES": ""}
    with running_server(tiny_ws, env=env) as server, httpx.Client(timeout=30) as client:
        codes = [client.get(f"{server.url}/ogc", headers={"X-Forwarded-For": FORGED[i]}).status_code
                 for i in range(4)]
        assert codes == [200, 200, 200, 429]
        seen = _wait_for_log(server, "/ogc", 4)
    assert seen == ["127.0.0.1"] * 4


def test_forwarded_for_from_a_trusted_proxy_is_honoured(tiny_ws: Path) -> None:
    # The same four requests from a trusted address (127.0.0.1 acting as the proxy): each is
    # counted at the address it names, so none reaches a bucket's 4th request.
    env = {"FIREREACH_RATE_LIMIT_BURST": "3", "FIREREACH_RATE_LIMIT_PER_S": "0.001",
           "FIREREACH_TRUSTED_PROXIES": "127.0.0.1"}
    with running_server(tiny_ws, env=env) as server, httpx.Client(timeout=30) as client:
        codes = [client.get(f"{server.url}/ogc", headers={"X-Forwarded-For": FORGED[i]}).status_code
                 for i in range(4)]
        assert codes == [200] * 4
        seen = _wait_for_log(server, "/ogc", 4)
    assert seen == FORGED[:4]


# -- nginx in front -----------------------------------------------------------------------------


#: Where Debian puts nginx (not on a normal user's PATH).
NGINX_SBIN = Path("/usr/sbin/nginx")


def _nginx() -> str:
    found = shutil.which("nginx") or (str(NGINX_SBIN) if NGINX_SBIN.exists() else None)
    if found is None:
        missing("nginx not installed (scripts/ensure-nginx.sh installs Debian's as root)")
    return found


def test_missing_nginx_skips_here_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(f"{__name__}.NGINX_SBIN", tmp_path / "no-nginx")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="nginx not installed"):
        _nginx()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI this is an error"):
        _nginx()


def render_template(*, listen: str, server_name: str, upstream_port: int) -> str:
    """``deploy/nginx/firereach.conf`` with its placeholders filled in."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in (("@LISTEN@", listen), ("@SERVER_NAME@", server_name),
                        ("@UPSTREAM_PORT@", str(upstream_port))):
        assert name in text, name
        text = text.replace(name, value)
    assert not re.search(r"@[A-Z_]+@", text), "a placeholder is left"
    return text


def _main_conf(prefix: Path, site: Path) -> str:
    """A minimal nginx.conf around the site: everything nginx writes stays under ``prefix``."""
    temp = "\n".join(f"    {kind}_temp_path {prefix / 'tmp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers write under a 0700 tmp dir
    return (f"{user}worker_processes 1;\ndaemon off;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n"
            f"    default_type application/octet-stream;\n    include {site};\n}}\n")


@dataclass
class Proxied:
    """A server with nginx in front."""

    url: str
    server: Server
    prefix: Path


def enable_tls(site: str, *, cert: Path, key: Path) -> str:
    """The rendered site with its commented TLS lines turned on (certificate ``cert``/``key``)."""
    site = site.replace("/etc/ssl/certs/firereach.pem", str(cert))
    site = site.replace("/etc/ssl/private/firereach.key", str(key))
    turned_on = re.subn(r"^(\s*)# ((?:ssl_\w+|add_header Strict-Transport-Security) )", r"\1\2",
                        site, flags=re.MULTILINE)
    assert turned_on[1] == 6, turned_on[1]  # 4 ssl_* lines, ssl_reject_handshake, HSTS
    return turned_on[0]


@contextmanager
def nginx_in_front(
    server: Server, prefix: Path, *, server_name: str, tls: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """nginx running the template in front of ``server`` on a free loopback port; yields its URL.

    Everything nginx writes (pid, logs, temp files) stays under ``prefix``; it is stopped
    (SIGQUIT, then SIGKILL) at the end.
    """
    nginx = _nginx()
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    port = free_port()
    listen = f"127.0.0.1:{port}" + (" ssl" if tls else "")
    text = render_template(listen=listen, server_name=server_name,
                           upstream_port=int(server.url.rsplit(":", 1)[1]))
    if tls:
        text = enable_tls(text, cert=tls[0], key=tls[1])
    site = prefix / "firereach.conf"
    site.write_text(text)
    conf = prefix / "nginx.conf"
    conf.write_text(_main_conf(prefix, site))
    args = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(process, port, prefix)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: workers finish, master exits
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_port(process: subprocess.Popen[bytes], port: int, prefix: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(prefix / 'error.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nginx not listening: {(prefix / 'error.log').read_text()[-2000:]}")


SERVER_ENV = {"FIREREACH_TRUSTED_PROXIES": "127.0.0.1", "FIREREACH_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}


@pytest.fixture(scope="module")
def proxied(tiny_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    _nginx()  # skip (or fail under CI) before starting the server
    prefix = tmp_path_factory.mktemp("nginx")
    with (running_server(tiny_ws, env=SERVER_ENV) as server,
          nginx_in_front(server, prefix, server_name="127.0.0.1") as url):
        yield Proxied(url=url, server=server, prefix=prefix)


def test_template_body_limit_is_the_apps() -> None:
    # client_max_body_size 1m = 1 * 1024 * 1024 = 1048576 = Settings().max_body_bytes
    text = TEMPLATE.read_text(encoding="utf-8")
    size = re.search(r"^\s*client_max_body_size\s+(\d+)([km]?);", text, re.MULTILINE)
    assert size is not None
    factor = {"": 1, "k": 1024, "m": 1024 * 1024}[size.group(2)]
    limit = int(size.group(1)) * factor
    assert limit == Settings(_env_file=None).max_body_bytes == 1_048_576
    assert f"at most {limit} bytes" in text


def test_public_route_through_the_proxy(proxied: Proxied) -> None:
    response = httpx.get(f"{proxied.url}/ogc/collections", timeout=30)
    assert response.status_code == 200
    assert response.json()["collections"]
    # the app's own security headers come through; nginx adds no Cache-Control for anonymous calls
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in response.headers.get("cache-control", "")
    assert "nginx/" not in response.headers.get("server", "")  # server_tokens off


def test_the_app_sees_the_client_behind_the_proxy_not_a_forgery(proxied: Proxied) -> None:
    # The client connects from 127.0.0.2 and claims 203.0.113.1; nginx replaces X-Forwarded-For
    # with the address it saw, and the app (trusting 127.0.0.1, where nginx connects from) logs
    # 127.0.0.2.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as client:
        response = client.get(f"{proxied.url}/ogc/conformance",
                              headers={"X-Forwarded-For": FORGED[0]})
    assert response.status_code == 200
    assert _wait_for_log(proxied.server, "/ogc/conformance", 1) == ["127.0.0.2"]


def test_body_over_the_limit_is_refused_by_nginx(proxied: Proxied) -> None:
    # Exactly 1048576 bytes passes nginx and reaches the app (401: no key, body never read);
    # one byte more is nginx's 413 (JSON like the app's), and the app never sees that request.
    headers = {"Content-Type": "application/json"}
    at_limit = httpx.post(f"{proxied.url}/ledger", content=b" " * 1_048_576, headers=headers,
                          timeout=60)
    assert at_limit.status_code == 401
    assert _wait_for_log(proxied.server, "/ledger", 1) == ["127.0.0.1"]
    over = httpx.post(f"{proxied.url}/ledger", content=b" " * 1_048_577, headers=headers,
                      timeout=60)
    assert over.status_code == 413
    assert over.json() == {"status": 413,
                           "error": "request body too large: at most 1048576 bytes"}
    time.sleep(0.5)
    assert len(_seen_clients(proxied.server, "/ledger")) == 1


def test_keyed_answers_are_not_cacheable(proxied: Proxied) -> None:
    response = httpx.get(f"{proxied.url}/ledger", headers={"X-API-Key": ADMIN_KEY}, timeout=30)
    assert response.status_code == 200
    assert "private, no-store" in response.headers.get_list("cache-control")


def test_unknown_host_is_dropped(proxied: Proxied) -> None:
    # return 444: nginx closes the connection without an answer; the app never sees the Host.
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{proxied.url}/ogc/api", headers={"Host": "attacker.example"}, timeout=10)
    time.sleep(0.3)
    assert _seen_clients(proxied.server, "/ogc/api") == []


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl not installed (needed to make a test certificate)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_variant_of_the_template(tiny_ws: Path, tmp_path: Path) -> None:
    # The template's commented TLS lines turned on, with a certificate for "localhost": HTTPS
    # works with the certificate checked, HSTS is sent, the app (trusting the proxy) takes
    # X-Forwarded-Proto: https, so every absolute link it writes is https; a handshake for
    # another name is refused (ssl_reject_handshake in the default server).
    _nginx()
    cert, key = _self_signed(tmp_path, "localhost")
    context = ssl.create_default_context(cafile=str(cert))
    with (running_server(tiny_ws, env=SERVER_ENV) as server,
          nginx_in_front(server, tmp_path / "nginx", server_name="localhost",
                         tls=(cert, key)) as url,
          httpx.Client(verify=context, timeout=30) as client):
        port = url.rsplit(":", 1)[1]
        sni = {"sni_hostname": "localhost"}
        response = client.get(f"{url}/ogc", headers={"Host": f"localhost:{port}"}, extensions=sni)
        assert response.status_code == 200
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        hrefs = [link["href"] for link in response.json()["links"]]
        assert hrefs
        assert all(h.startswith("https://") or not h.startswith("http") for h in hrefs), hrefs
        # on the open connection (SNI localhost) another Host is dropped (444) ...
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{url}/ogc", headers={"Host": "attacker.example"}, extensions=sni)
        # ... and a new connection for another name fails its handshake
        # (no certificate check: the handshake itself must fail, not the check)
        with (httpx.Client(verify=False, timeout=30) as other,
              pytest.raises(httpx.ConnectError)):
            other.get(f"{url}/ogc", headers={"Host": "attacker.example"},
                      extensions={"sni_hostname": "attacker.example"})
