"""One router per resource; ``ROUTERS`` is the list the app factory includes."""

from fastapi import APIRouter

from api.routers.health import router as health
from api.routers.hydrants import router as hydrants
from api.routers.keys import router as keys
from api.routers.ledger import router as ledger

ROUTERS: list[APIRouter] = [health, hydrants, ledger, keys]
