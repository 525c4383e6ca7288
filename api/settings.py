"""Settings: one pydantic-settings class, read at the entry points (CLI, app factory) only."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
