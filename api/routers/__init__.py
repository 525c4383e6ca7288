"""One router per resource; ``ROUTERS`` is the list the app factory includes."""

from fastapi import APIRouter

from api.routers.health import router as health

ROUTERS: list[APIRouter] = [health]
