"""Every way in parses a bbox with geo.bbox's rules: the CLI, the ledger filter, OGC API, the download."""

from __future__ import annotations

import pytest
import typer
from pydantic import ValidationError

from api.cli import _bbox
from api.ogc import QueryParameterError
from api.ogc import parse_bbox as ogc_bbox
from api.routers.ledger import LedgerFilter
from geo.bbox import BBox
from geo.errors import ConfigError
from geo.online import overpass_query

BAD = (
    "1,2,3",  # three numbers
    "0,0,1,nan",  # not finite
    "31.27,121.49,31.29,121.52",  # latitude first
    "0,10,1,10",  # zero height
    "5,0,5,1",  # zero width
)


@pytest.mark.parametrize("text", BAD)
def test_every_site_refuses_the_same_boxes(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="WGS84 degrees"):
        _bbox(text)
    with pytest.raises(ValidationError, match="WGS84 degrees"):
        LedgerFilter(bbox=text)
    with pytest.raises(QueryParameterError, match="WGS84 degrees"):
        ogc_bbox(text)
    numbers = [float(v) for v in text.split(",")]
    if len(numbers) == 4:
        with pytest.raises(ConfigError, match="WGS84 degrees"):
            overpass_query((numbers[0], numbers[1], numbers[2], numbers[3]))


def test_every_site_reads_the_same_box() -> None:
    text = "121.49,31.27,121.52,31.29"
    box = BBox(121.49, 31.27, 121.52, 31.29)
    assert _bbox(text) == box
    assert LedgerFilter(bbox=text).box() == box
    assert ogc_bbox(text) == box
    assert "(31.27,121.49,31.29,121.52)" in overpass_query(box)  # Overpass wants south,west,north,east


def test_antimeridian_only_in_ogc() -> None:
    text = "170,-10,-170,10"
    assert ogc_bbox(text) == (170, -10, -170, 10)  # OGC API – Features 7.15.3
    with pytest.raises(typer.BadParameter, match="antimeridian"):
        _bbox(text)
    with pytest.raises(ValidationError, match="antimeridian"):
        LedgerFilter(bbox=text)
