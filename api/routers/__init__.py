"""One router per resource; ``ROUTERS`` is the list the app factory includes."""

from fastapi import APIRouter

from api.routers.analysis import router as analysis
from api.routers.docs import router as docs
from api.routers.downloads import router as downloads
from api.routers.features import router as features
from api.routers.health import router as health
from api.routers.hydrants import router as hydrants
from api.routers.keys import router as keys
from api.routers.ledger import router as ledger
from api.routers.tiles import router as tiles
from api.routers.web import router as web

ROUTERS: list[APIRouter] = [health, hydrants, ledger, keys, features, tiles, analysis, downloads, web, docs]
