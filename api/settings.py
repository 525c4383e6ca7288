"""Settings: one pydantic-settings class, read at the entry points (CLI, app factory) only."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Ledger statuses that can be overdue (the open ones of the 生命通道 ledger).
LEDGER_SLA_STATUSES = ("reported", "assigned", "rectified", "verified")
#: Default days per open status before a blockage is overdue: FireReach assumptions, not a rule.
DEFAULT_LEDGER_SLA_DAYS: dict[str, float] = {"reported": 2.0, "assigned": 7.0, "rectified": 3.0,
                                             "verified": 3.0}


class Settings(BaseSettings):
    """FireReach settings, from ``FIREREACH_*`` environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="FIREREACH_", env_file=".env", extra="ignore")

    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "firereach",
        description="where online OSM downloads are cached",
    )
    overpass_url: str = Field(default="https://overpass-api.de/api", description="Overpass API")
    preset: str = Field(default="cn-gb", description="rule preset: cn-gb, us, de or a TOML path")
    apparatus: str = Field(default="pumper", description="apparatus profile: pumper, aerial, heavy")
    crs: str | None = Field(default=None, description="working CRS, e.g. EPSG:4549; None = UTM")
    merge_distance_m: float = Field(default=10.0, gt=0, description="agency/OSM hydrant merge")
    metres_per_level: float = Field(default=3.0, gt=0, description="storey height when no height")
    snap_distance_m: float = Field(default=60.0, gt=0, description="max point-to-road snap")
    workspace: Path = Field(default=Path("out/demo"), description="workspace served by the API")
    output_workers: int | None = Field(
        default=None, ge=1,
        description="work at once in `firereach analyze`: OSM reading processes (large files) "
        "and output writers (layers.gpkg beside the reports); None = by cores",
    )
    public_read: bool = Field(
        default=True, description="serve public layers (features, tiles, hydrant status) without a key"
    )
    bootstrap_admin_key: SecretStr | None = Field(
        default=None,
        description="admin API key hashed into the store at start-up when it holds no active admin key "
        "(at least 24 characters); unset it once real keys exist",
    )
    ledger_sla_days: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_LEDGER_SLA_DAYS),
        description="days a blockage may stay in a ledger status before it is overdue (FireReach "
        "defaults, not from a regulation: set your district's own), e.g. "
        '\'{"reported": 3, "assigned": 7}\'',
    )
    siting_refresh_s: float = Field(
        default=10.0, ge=0, le=86_400,
        description="seconds between checks for a siting proposal left stale by live hydrant "
        "updates; a stale one is recomputed in the background (0 = only at restart)",
    )
    public_base_url: str | None = Field(
        default=None,
        description="the server's public address for absolute links (OGC API documents, "
        "TileJSON), e.g. https://fire.example.org; None = links are paths on this server "
        "(the request's Host header is never used)",
    )
    basemap_url: str | None = Field(
        default=None,
        description="basemap tile URL for the web map, a {z}/{x}/{y} template (http(s) or a path on "
        "this server, e.g. https://tiles.example.gov.cn/{z}/{x}/{y}.png); None = the workspace's own "
        "roads and buildings, and the page loads nothing from elsewhere",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1_024,
        description="largest request body in bytes (JSON reports, transitions, keys); a larger "
        "Content-Length is refused with 413 before anything is read, a chunked body is cut at it",
    )
    max_body_bytes_by_path: dict[str, int] = Field(
        default_factory=dict,
        description="larger (or smaller) body limits for the paths under a prefix, e.g. "
        '\'{"/imports": 52428800}\' for uploads; the longest matching prefix wins',
    )
    max_header_bytes: int = Field(
        default=16_384, ge=1_024, description="largest total size of a request's headers (431 beyond)"
    )
    max_headers: int = Field(default=100, ge=10, description="most headers in a request (431 beyond)")
    max_path_chars: int = Field(
        default=8_192, ge=256, description="longest request target, path and query (414 beyond)"
    )
    max_id_chars: int = Field(
        default=256, ge=32,
        description="longest path segment, such as an id (404 beyond: no such resource exists)",
    )
    rate_limit_per_s: float = Field(
        default=100.0, ge=0,
        description="requests per second allowed to each client address and, separately, to each "
        "API key (token buckets in this process's memory; 0 = no rate limit)",
    )
    rate_limit_burst: int = Field(
        default=1_000, ge=1,
        description="requests a client address or key may make at once (the bucket size; the web "
        "map asks for hundreds of tiles when it opens or zooms)",
    )
    auth_failures_allowed: int = Field(
        default=5, ge=1,
        description="wrong API keys a client address may send before it has to wait (429); each "
        "further failure doubles the wait, up to auth_backoff_max_s",
    )
    auth_backoff_max_s: float = Field(default=900.0, gt=0, description="longest wait after wrong keys")
    store_busy_timeout_s: float = Field(
        default=5.0, gt=0, le=60,
        description="seconds a store read or write waits for another process's lock before the "
        "API answers 503 with Retry-After",
    )
    basemap_attribution: str = Field(
        default="", max_length=500,
        description="plain-text credit shown on the web map for basemap_url's tiles",
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto `firereach serve` believes, e.g. 127.0.0.1 or "
        "10.0.0.0/8 ('*' = any sender: only when nothing but the proxy can reach the port); "
        "empty (the default) = forwarded headers are ignored and the client address is the TCP peer",
    )

    @field_validator("ledger_sla_days")
    @classmethod
    def _check_sla(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(LEDGER_SLA_STATUSES))
        if unknown:
            raise ValueError(
                f"ledger_sla_days has unknown statuses {unknown}; use {', '.join(LEDGER_SLA_STATUSES)}"
            )
        bad = {k: v for k, v in value.items() if not (v > 0 and v < 36_500)}
        if bad:
            raise ValueError(f"ledger_sla_days must be positive numbers of days; got {bad}")
        return value

    @field_validator("max_body_bytes_by_path")
    @classmethod
    def _check_body_paths(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if not k.startswith("/") or v < 1_024}
        if bad:
            raise ValueError(
                f"max_body_bytes_by_path needs path prefixes starting with / and limits of at "
                f"least 1024 bytes; got {bad}"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        bad = []
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                bad.append(item)
        if bad:
            raise ValueError(
                f"trusted_proxies has entries that are not IP addresses or networks: {bad}; give "
                "e.g. 127.0.0.1,::1 or 10.0.0.0/8 (or * for any sender)"
            )
        return ",".join(items)

    def trusted_proxy_list(self) -> list[str]:
        """The entries of ``trusted_proxies`` (empty: forwarded headers are not believed)."""
        return [item for item in self.trusted_proxies.split(",") if item]

    @field_validator("public_base_url")
    @classmethod
    def _check_public_base_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"public_base_url {value!r} must be an http(s) address without query, "
                "e.g. https://fire.example.org or https://example.org/firereach"
            )
        return value.strip().rstrip("/")

    @field_validator("basemap_url")
    @classmethod
    def _check_basemap_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in value]
        if missing:
            raise ValueError(
                f"basemap_url {value!r} lacks {', '.join(missing)}; give a tile template such as "
                "https://tiles.example.org/{z}/{x}/{y}.png"
            )
        parts = urlsplit(value)
        remote = parts.scheme in ("http", "https") and bool(parts.netloc)
        relative = not parts.scheme and not parts.netloc and not value.startswith("//")
        if not (remote or relative) or any(c.isspace() or c in "\"'<>\\" for c in value):
            raise ValueError(
                f"basemap_url {value!r} must be an http(s) URL or a path on this server "
                "(e.g. /basemap/{z}/{x}/{y}.png), without spaces or quotes"
            )
        return value
