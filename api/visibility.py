"""Who may see which column: one field-level policy for every served layer and table.

Every channel that hands out features (OGC collections and items, ``/downloads/*.csv``,
``/downloads/layers.gpkg``, the vector tiles and so the web map) passes its frame through
:func:`redact` with the caller's :class:`~api.auth.Principal`; none keeps its own list.

The policy (:data:`POLICY`, one :class:`LayerPolicy` per :data:`geo.catalog.CATALOG` table and
per extra table the downloads offer):

- an anonymous caller (``public_read`` on) sees only the columns a layer's policy makes public:
  an allow-list per layer (:data:`api.public_columns.PUBLIC_COLUMNS`), so a column nobody listed
  (added to a layer later, or an agency file's own extra column) is served to keys only;
- a column named in :data:`PERSONAL` (reporter, photo URL with its token, notes, assignee, contact
  fields ...) is never public in any layer: it needs a key of at least :data:`PERSONAL_ROLE`, the
  same roles ``GET /ledger/{id}`` answers;
- the ledger's layers (``blockages``, ``blockages_ranked``) are default-deny: only the columns
  listed in :data:`LEDGER_PUBLIC` are public (their ``name`` column carries the item's note);
- a table without a policy shows an anonymous caller nothing but its geometry (default-deny);
- the raw ``value`` of a rejected input row (it may be anyone's data) needs a key;
- a file column (:data:`FILE_COLUMNS`: ``source_file``, ``file`` of the rejects) is shown as a
  file name, never as an absolute server path (every caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType

import pandas as pd

from api import ogc
from api.auth import Principal, require
from api.public_columns import PUBLIC_COLUMNS
from api.store import ROLES
from geo.catalog import CATALOG, LayerName

__all__ = [
    "FILE_COLUMNS",
    "LEDGER_PUBLIC",
    "PERSONAL",
    "PERSONAL_ROLE",
    "POLICY",
    "READER",
    "LayerPolicy",
    "audience",
    "hidden_columns",
    "policy",
    "redact",
    "visible_frame",
]

#: The ``read`` dependency every feature channel shares (one object, so FastAPI runs it once
#: per request whether a router or a handler asks for it).
READER = require("read")

#: Column names that hold personal or internal data in any layer (a column whose name, lower
#: case, is one of these or ends with ``_`` + one of them, e.g. ``reporter_phone``).
PERSONAL: frozenset[str] = frozenset({
    "reporter", "phone", "telephone", "tel", "mobile", "email", "contact", "photo", "photo_url",
    "note", "notes", "assignee", "address_contact", "owner_contact",
})
#: The least role that sees personal columns (any key: the roles of the ``records`` permission).
PERSONAL_ROLE = "viewer"
#: The public columns of the ledger's layers (everything else in them needs a key).
LEDGER_PUBLIC: frozenset[str] = frozenset({
    "blockage_id", "kind", "status", "reported_at", "remaining_width_m", "source", "source_crs",
    "open", "edge", "edge_id", "road_name", "position_m", "offset_m", "edge_width_m", "occupied_m",
    "width_basis", "effect", "reason", "high_rises_cut", "buildings_cut", "buildings_delayed",
    "high_rises_delayed", "hydrants_unreachable", "max_delay_s", "score", "reports_on_edge", "rank",
    "lon", "lat",
})


@dataclass(frozen=True)
class LayerPolicy:
    """What an anonymous caller may see of one table.

    Attributes
    ----------
    public
        The public columns; None: every column but the personal ones (a table built from the
        public inputs and the analysis, which holds nothing about people).
    restricted
        Extra columns (beyond :data:`PERSONAL`) and the least role that sees each.
    """

    public: frozenset[str] | None = None
    restricted: Mapping[str, str] = field(default_factory=dict)


#: Columns naming an input file: callers see the file name only.
FILE_COLUMNS = ("source_file", "file")

_LEDGER = LayerPolicy(public=LEDGER_PUBLIC)
#: One policy per served table (every catalog layer, which includes the downloads' tables).
POLICY: Mapping[str, LayerPolicy] = MappingProxyType({
    **{name: (_LEDGER if name in (LayerName.BLOCKAGES, LayerName.BLOCKAGES_RANKED)
              else LayerPolicy(public=PUBLIC_COLUMNS.get(name, frozenset())))
       for name in CATALOG},
    LayerName.REJECTS: LayerPolicy(
        public=frozenset({"layer", "file", "row", "column", "feature_id", "reason"}),
        restricted={"value": PERSONAL_ROLE},
    ),
})

_RANK = {role: i + 1 for i, role in enumerate(ROLES)}


def audience(who: Principal) -> str:
    """The name of what ``who`` sees: ``public`` (no key) or the key's role."""
    return "public" if who.role is None else who.role


def policy(layer: str) -> LayerPolicy | None:
    """The policy of ``layer`` (None: none, so nothing but geometry is public)."""
    return POLICY.get(layer)


def _personal(column: str) -> bool:
    low = column.lower()
    return low in PERSONAL or any(low.endswith("_" + p) for p in PERSONAL)


def _allowed(role: str | None, least: str) -> bool:
    return role is not None and _RANK.get(role, 0) >= _RANK[least]


def hidden_columns(
    layer: str, columns: list[str], role: str | None, *, geometry: str | None = None
) -> list[str]:
    """The columns of ``layer`` that a caller with ``role`` (None: anonymous) may not see.

    Parameters
    ----------
    layer
        Table name (a catalog layer or a downloads table).
    columns
        The table's columns.
    role
        The caller's role, None for an anonymous caller.
    geometry
        The geometry column (always visible).
    """
    rule = policy(layer)
    hidden = []
    for c in columns:
        if c == geometry:
            continue
        if _personal(c):
            if not _allowed(role, PERSONAL_ROLE):
                hidden.append(c)
        elif rule is not None and c in rule.restricted:
            if not _allowed(role, rule.restricted[c]):
                hidden.append(c)
        elif role is None and (rule is None or (rule.public is not None and c not in rule.public)):
            hidden.append(c)
    return hidden


def _relative_names(values: pd.Series) -> pd.Series:
    def name(v: object) -> object:
        return PurePath(v.replace("\\", "/")).name if isinstance(v, str) and v else v

    return values.map(name)


def redact(layer: str, frame: pd.DataFrame, who: Principal | str | None) -> pd.DataFrame:
    """``frame`` as ``who`` may see it: hidden columns dropped, file columns file names.

    Returns ``frame`` itself when nothing changes (so caches keyed by the frame still hit).
    ``who`` is a :class:`~api.auth.Principal`, a role name or None (anonymous).
    """
    role = who.role if isinstance(who, Principal) else who
    geometry = getattr(frame, "_geometry_column_name", None)
    drop = hidden_columns(layer, [str(c) for c in frame.columns], role, geometry=geometry)
    paths = [
        c for c in FILE_COLUMNS if c in frame.columns and c not in drop
        and bool(frame[c].map(lambda v: isinstance(v, str) and ("/" in v or "\\" in v)).any())
    ]
    if not drop and not paths:
        return frame
    out = frame.drop(columns=drop)
    for c in paths:
        out[c] = _relative_names(out[c])
    return out


def visible_frame(
    state: object, layer: str, frame: pd.DataFrame, version: int, who: Principal
) -> pd.DataFrame:
    """:func:`redact` of a served collection, made once per frame, version and audience.

    ``state`` is the app's state (the cache lives there, as :func:`api.ogc.app_cache` keeps it).
    """
    cache: ogc.FrameCache[pd.DataFrame] = ogc.app_cache(
        state, "visible_frames", lambda: ogc.FrameCache(max_entries=256)
    )
    return cache.get(f"{audience(who)}:{layer}", frame, version, lambda: redact(layer, frame, who))
