"""Settings: one pydantic-settings class, read at the entry points (CLI, app factory) only."""

from __future__ import annotations

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
    basemap_attribution: str = Field(
        default="", max_length=500,
        description="plain-text credit shown on the web map for basemap_url's tiles",
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
