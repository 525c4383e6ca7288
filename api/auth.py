"""Who may do what: API keys with roles, stored hashed, checked on every write.

Roles and what they may do (:data:`PERMISSIONS`):

========== =====================================================================================
viewer     read: public layers, and the internal records (ledger, audit trails, hydrant history)
inspector  viewer + report blockages and hydrant status (网格巡检)
planner    inspector + ledger transitions (整改、复核、销号), scenarios, siting
admin      planner + manage API keys
========== =====================================================================================

A key is ``frk_<public id>_<secret>``. The store keeps the public id (to find the row), a random
per-key salt and the scrypt hash of the whole key, never the key; a key is shown once, when it is
created. Checking a key compares hashes with :func:`hmac.compare_digest`; a key already checked in
this process is recognised by a SHA-256 held in memory only, so scrypt runs once per key and
process, while revocation takes effect at once (the row is read on every request). A wrong key
is remembered the same way (scrypt never runs twice for it), a string that cannot be a key (not
``frk_<public id>_...`` with a known id, nor shaped like a bootstrap key) is refused without
scrypt, at most two checks hash at once, and a client address that keeps sending wrong keys is
made to wait (:class:`api.throttle.FailureThrottle`, 429 with ``Retry-After``).

The first admin key comes from the ``FIREREACH_BOOTSTRAP_ADMIN_KEY`` setting
(:func:`bootstrap_admin`) or from :func:`create_key` (for a ``firereach keys create`` command).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, cast, get_args, overload

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from api.store import (
    ROLES,
    Actor,
    IdempotencyKey,
    KeyRecord,
    Store,
    active_keys_with_prefix,
    claimed,
    count_active_admins,
    insert_key,
    key_by_id,
    key_by_public_id,
    remember,
    revoke_key,
    utc_now,
)
from api.throttle import FailureThrottle, TooManyRequestsError
from geo.errors import ConfigError, FireReachError, LayerValidationError

log = logging.getLogger(__name__)

Permission = Literal["read", "records", "report", "transition", "plan", "manage_keys"]
PERMISSION_NAMES: tuple[str, ...] = get_args(Permission)

#: Roles allowed each permission. ``read`` is public layers (no key needed when the
#: ``public_read`` setting is on); ``records`` is the ledger, audit trails and hydrant history,
#: which always need a key.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "records": frozenset(ROLES),
    "report": frozenset({"inspector", "planner", "admin"}),
    "transition": frozenset({"planner", "admin"}),
    "plan": frozenset({"planner", "admin"}),
    "manage_keys": frozenset({"admin"}),
}

HEADER = "X-API-Key"
_PREFIX = "frk_"
_PUBLIC_ID_CHARS = 12
_BOOTSTRAP_PREFIX = "bootstrap-"
_MIN_BOOTSTRAP_CHARS = 24
_MAX_KEY_CHARS = 256
#: scrypt cost (RFC 7914 interactive parameters: ~16 MiB, tens of ms per check).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _DKLEN = 2**14, 8, 1, 32
#: Key checks that may run scrypt at once, how long another waits for its turn, and how many
#: wrong keys are remembered (by SHA-256) so that they are refused without hashing again.
_SCRYPT_AT_ONCE, _SCRYPT_WAIT_S, _MAX_REFUSED = 2, 2.0, 10_000
#: Where :func:`require` finds a principal already authorized before the body was read
#: (``scope["state"]``, set by :class:`api.guard.EdgeGuard`): (permission, principal).
AUTHORIZED_STATE = "firereach.authorized"


class AuthenticationError(FireReachError, PermissionError):
    """No API key, or an unknown or revoked one (HTTP 401)."""


class PermissionDeniedError(FireReachError, PermissionError):
    """A valid key whose role may not do this (HTTP 403)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's role, name and id, or anonymous (role None)."""

    role: str | None
    name: str
    key_id: int | None = None

    @property
    def actor(self) -> Actor:
        """The principal as the store's :class:`~api.store.Actor`."""
        return Actor(name=self.name, key_id=self.key_id)


ANONYMOUS = Principal(role=None, name="anonymous")


def _kdf_name() -> str:
    return f"scrypt$n={_SCRYPT_N}$r={_SCRYPT_R}$p={_SCRYPT_P}$len={_DKLEN}"


def _hash(key: str, salt: bytes, kdf: str) -> bytes:
    if not kdf.startswith("scrypt$"):
        raise ConfigError(f"unknown key hash {kdf!r} in the store")
    parts = dict(p.split("=", 1) for p in kdf.split("$")[1:])
    n, r, p, dklen = (int(parts[k]) for k in ("n", "r", "p", "len"))
    return hashlib.scrypt(
        key.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * n * r + 2**20
    )


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise LayerValidationError("give the key a name of 1 to 200 characters (who or what uses it)")
    return name


def _store_key(
    store: Store, key: str, *, public_id: str, role: str, name: str, created_by: str,
    expires_at: datetime | None = None, replaces: int | None = None,
    claim: IdempotencyKey | None = None,
) -> tuple[KeyRecord, bool]:
    salt = secrets.token_bytes(16)
    kdf = _kdf_name()
    digest = _hash(key, salt, kdf)
    with store.write() as conn:
        now = utc_now()
        done = None if claim is None else claimed(conn, claim, now=now)
        if done is not None:  # a retry: the key the first copy created (its text is not kept)
            first = key_by_id(conn, done)
            if first is not None:
                return first, True
        record = insert_key(
            conn, public_id=public_id, name=name, role=role, kdf=kdf, salt=salt, digest=digest,
            created_by=created_by, now=now, expires_at=expires_at,
        )
        if replaces is not None:  # a rotation: the new key and the old one's end in one write
            revoke_key(conn, replaces, now=now)
        if claim is not None:
            remember(conn, claim, record.key_id, now=now)
        return record, False


@overload
def new_key(
    store: Store, role: str, name: str, *, created_by: str = ...,
    expires_at: datetime | None = ..., replaces: int | None = ..., claim: None = ...,
) -> tuple[KeyRecord, str]: ...


@overload
def new_key(
    store: Store, role: str, name: str, *, created_by: str = ...,
    expires_at: datetime | None = ..., replaces: int | None = ..., claim: IdempotencyKey | None,
) -> tuple[KeyRecord, str | None]: ...


def new_key(
    store: Store, role: str, name: str, *, created_by: str = "cli",
    expires_at: datetime | None = None, replaces: int | None = None,
    claim: IdempotencyKey | None = None,
) -> tuple[KeyRecord, str | None]:
    """Create an API key; return its stored record and the key, which is never shown again.

    Parameters
    ----------
    store
        The workspace store (:func:`api.store.open_store`).
    role
        ``viewer``, ``inspector``, ``planner`` or ``admin``.
    name
        Who or what uses the key (shown in audit trails).
    created_by
        Name of the creator (an admin key's name, or ``cli``).
    expires_at
        When the key stops working (None: never).
    replaces
        A key revoked in the same write (a rotation).
    claim
        An ``Idempotency-Key`` claim (:class:`~api.store.IdempotencyKey`): a retry of the same
        request creates nothing and returns the first copy's record with the key text None
        (the text is shown once and never stored).

    Returns
    -------
    tuple
        The :class:`~api.store.KeyRecord` and the key text ``frk_<public id>_<secret>`` (None
        on a replay).
    """
    if role not in ROLES:
        raise LayerValidationError(f"role {role!r}; expected one of {', '.join(ROLES)}")
    name = _check_name(name)
    public_id = secrets.token_hex(_PUBLIC_ID_CHARS // 2)
    key = f"{_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    record, replayed = _store_key(store, key, public_id=public_id, role=role, name=name,
                                  created_by=created_by, expires_at=expires_at, replaces=replaces,
                                  claim=claim)
    if replayed:
        log.info("API key %d: a replayed request, nothing created", record.key_id)
        return record, None
    log.info("API key %d (%s, %s) created by %s", record.key_id, role, name, created_by)
    return record, key


def create_key(store: Store, role: str, name: str, *, created_by: str = "cli") -> str:
    """Create an API key and return it (for ``firereach keys create``); it is not stored.

    See :func:`new_key` for the parameters.
    """
    return new_key(store, role, name, created_by=created_by)[1]


def bootstrap_admin(store: Store, key: str | None) -> bool:
    """Hash ``key`` into the store as an admin key when the store has no active admin key.

    Returns True when a key was added. Nothing happens without a key or when an admin exists.

    Raises
    ------
    ConfigError
        If the key is shorter than 24 characters or longer than 256.
    """
    if key is None:
        return False
    if not _MIN_BOOTSTRAP_CHARS <= len(key) <= _MAX_KEY_CHARS or key != key.strip():
        raise ConfigError(
            f"FIREREACH_BOOTSTRAP_ADMIN_KEY must be {_MIN_BOOTSTRAP_CHARS} to {_MAX_KEY_CHARS} "
            "characters without surrounding spaces; generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    with store.read() as conn:
        if count_active_admins(conn) > 0:
            log.info("store has an admin key: the bootstrap admin key is not needed")
            return False
    public_id = _BOOTSTRAP_PREFIX + secrets.token_hex(4)
    record, _ = _store_key(
        store, key, public_id=public_id, role="admin", name="bootstrap admin", created_by="settings"
    )
    log.info("bootstrap admin key stored as API key %d", record.key_id)
    return True


class KeyRing:
    """Checks keys against one store; remembers keys already checked (in memory only)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: dict[bytes, str] = {}
        self._refused: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._hashing = threading.BoundedSemaphore(_SCRYPT_AT_ONCE)

    def _candidates(self, key: str) -> list[KeyRecord]:
        if key.startswith(_PREFIX):
            public_id = key[len(_PREFIX) : len(_PREFIX) + _PUBLIC_ID_CHARS]
            with self.store.read() as conn:
                found = key_by_public_id(conn, public_id)
            return [found] if found is not None else []
        if len(key) < _MIN_BOOTSTRAP_CHARS or key != key.strip():
            return []  # cannot be a bootstrap key (bootstrap_admin refuses such): no scrypt
        with self.store.read() as conn:
            return active_keys_with_prefix(conn, _BOOTSTRAP_PREFIX)

    def _matching(self, key: str, candidates: list[KeyRecord]) -> KeyRecord | None:
        if not candidates:
            return None
        if not self._hashing.acquire(timeout=_SCRYPT_WAIT_S):
            raise TooManyRequestsError(
                "too many API keys are being checked at once; try again in a second",
                retry_after_s=1.0,
            )
        try:
            for record in candidates:
                if hmac.compare_digest(_hash(key, record.salt, record.kdf), record.digest):
                    return record
        finally:
            self._hashing.release()
        return None

    def recognises(self, key: str) -> bool:
        """Whether ``key`` was checked in this process and found to be a stored key (its row
        is still read on every request, so it may since have been revoked)."""
        fingerprint = hashlib.sha256(key.encode("utf-8")).digest()
        with self._lock:
            return fingerprint in self._known

    def check(self, key: str) -> KeyRecord:
        """The active key record for ``key``.

        Raises
        ------
        AuthenticationError
            Unknown or revoked key.
        """
        if not 0 < len(key) <= _MAX_KEY_CHARS:
            raise AuthenticationError(f"API key in {HEADER} is empty or too long")
        fingerprint = hashlib.sha256(key.encode("utf-8")).digest()
        with self._lock:
            public_id = self._known.get(fingerprint)
            refused = fingerprint in self._refused
        if refused:
            raise AuthenticationError(f"the API key in {HEADER} is not valid")
        if public_id is not None:
            with self.store.read() as conn:
                record = key_by_public_id(conn, public_id)
            if record is None or not record.active:
                raise AuthenticationError(f"the API key in {HEADER} has been revoked")
            return _unexpired(record)
        record = self._matching(key, self._candidates(key))
        if record is None:
            with self._lock:
                self._refused[fingerprint] = None
                while len(self._refused) > _MAX_REFUSED:
                    self._refused.popitem(last=False)
            raise AuthenticationError(f"the API key in {HEADER} is not valid")
        with self._lock:
            self._known[fingerprint] = record.public_id  # revoked too: no scrypt next time
        if not record.active:
            raise AuthenticationError(f"the API key in {HEADER} has been revoked")
        return _unexpired(record)


def _unexpired(record: KeyRecord) -> KeyRecord:
    """The record, or :class:`AuthenticationError` when the key has expired."""
    if record.expired(utc_now()):
        raise AuthenticationError(
            f"the API key in {HEADER} expired at {record.expires_at:%Y-%m-%d %H:%M} UTC; ask an "
            "admin for a new one (POST /keys/{id}/rotate)"
        )
    return record


def authorize(
    keyring: KeyRing, key: str | None, permission: str, *, public_read: bool,
    throttle: FailureThrottle | None = None, client: str = "",
) -> Principal:
    """Who the caller is, if they may do ``permission``.

    Parameters
    ----------
    keyring
        The app's key ring.
    key
        The ``X-API-Key`` header value, or None.
    permission
        One of :data:`PERMISSION_NAMES`.
    public_read
        Whether ``read`` needs no key.
    throttle, client
        The app's failed-key throttle and the caller's address: a wrong key counts against the
        address, which must wait after too many.

    Raises
    ------
    AuthenticationError
        No key where one is needed, or an invalid key.
    PermissionDeniedError
        The key's role may not do this.
    TooManyRequestsError
        The address sent too many wrong keys lately (its key is not checked).
    """
    allowed = PERMISSIONS[permission]
    if key is None:
        if permission == "read" and public_read:
            return ANONYMOUS
        raise AuthenticationError(f"this needs an API key in the {HEADER} header")
    if throttle is not None and not keyring.recognises(key):  # known keys are never held up
        wait = throttle.wait(client)
        if wait > 0:
            raise TooManyRequestsError(
                f"too many wrong API keys from this address; wait {math.ceil(wait)} s",
                retry_after_s=wait,
            )
    try:
        record = keyring.check(key)
    except AuthenticationError:
        if throttle is not None:
            throttle.failed(client)
        raise
    if record.role not in allowed:
        roles = ", ".join(r for r in ROLES if r in allowed)
        raise PermissionDeniedError(
            f"API key {record.key_id} ({record.name}) has role {record.role!r}, which may not "
            f"{permission.replace('_', ' ')}; needs one of: {roles}"
        )
    return Principal(role=record.role, name=record.name, key_id=record.key_id)


def get_keyring(request: Request) -> KeyRing:
    """The key ring opened at start-up (:func:`api.live.live_state`)."""
    keyring: KeyRing | None = getattr(request.app.state, "keyring", None)
    if keyring is None:
        raise HTTPException(status_code=503, detail="the store is not open (start-up did not run)")
    return keyring


#: OpenAPI security scheme of the API key (one header for every role).
SCHEME = "APIKeyHeader"
_SCHEME_PREFIX = "FireReachKey."
#: One header scheme per permission, so the OpenAPI document can tell which operation needs
#: which roles (:func:`document_access` folds them back into :data:`SCHEME`).
_HEADERS = {
    p: APIKeyHeader(name=HEADER, scheme_name=f"{_SCHEME_PREFIX}{p}", auto_error=False,
                    description="FireReach API key")
    for p in PERMISSIONS
}


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that returns the :class:`Principal` allowed ``permission`` (else 401/403)."""
    if permission not in PERMISSIONS:
        raise ConfigError(f"unknown permission {permission!r}; use {', '.join(PERMISSIONS)}")

    def dependency(request: Request, keyring: KeyRing, key: str | None) -> Principal:
        done = request.scope.get("state", {}).get(AUTHORIZED_STATE)
        if done is not None and done[0] == permission:
            return cast(Principal, done[1])  # checked before the body was read
        return authorize(
            keyring, key, permission, public_read=request.app.state.settings.public_read,
            throttle=getattr(request.app.state, "auth_throttle", None),
            client=request.client.host if request.client else "",
        )

    # the signature FastAPI reads: the key header scheme of this permission
    param = inspect.Parameter.POSITIONAL_OR_KEYWORD
    dependency.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("request", param, annotation=Request),
        inspect.Parameter("keyring", param, annotation=Annotated[KeyRing, Depends(get_keyring)]),
        inspect.Parameter("key", param, annotation=Annotated[str | None, Security(_HEADERS[permission])]),
    ], return_annotation=Principal)
    dependency.__name__ = f"require_{permission}"
    dependency.permission = permission  # type: ignore[attr-defined]  # read by api.guard
    return dependency


def _access_text(permission: str, *, public_read: bool) -> str:
    roles = ", ".join(r for r in ROLES if r in PERMISSIONS[permission])
    if permission == "read" and public_read:
        return f"Access: public (no key needed on this server); any API key ({roles}) is accepted."
    return f"Access: an API key in the {HEADER} header with role {roles}."


def document_access(app: FastAPI, *, public_read: bool) -> None:
    """Make the OpenAPI document say who may call each operation.

    Every operation behind :func:`require` gets an ``Access:`` line in its description, an
    ``x-firereach-roles`` list and the one :data:`SCHEME` security scheme; with ``public_read``
    on, the read operations list the empty security requirement first
    (``security: [{}, {APIKeyHeader: []}]``: the key is optional), so clients generated from the
    document do not demand a key the server does not.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and app.openapi_schema.get("x-firereach-access"):
            return app.openapi_schema
        doc = build()
        schemes = doc.get("components", {}).get("securitySchemes", {})
        for name in [n for n in schemes if n.startswith(_SCHEME_PREFIX)]:
            schemes[SCHEME] = {**schemes.pop(name), "description": "FireReach API key"}
        for ops in doc.get("paths", {}).values():
            for op in ops.values():
                needs = [n[len(_SCHEME_PREFIX):] for req in op.get("security", []) for n in req
                         if n.startswith(_SCHEME_PREFIX)]
                if not needs:
                    continue
                permission = needs[0]
                text = _access_text(permission, public_read=public_read)
                op["description"] = f"{op['description']}\n\n{text}" if op.get("description") else text
                op["x-firereach-roles"] = [r for r in ROLES if r in PERMISSIONS[permission]]
                optional = permission == "read" and public_read
                op["security"] = [{}, {SCHEME: []}] if optional else [{SCHEME: []}]
                _document_refusals(op, permission)
        doc["x-firereach-access"] = True
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _document_refusals(op: dict[str, Any], permission: str) -> None:
    """401 (no key, an unknown, revoked or expired one) on every guarded operation, 403 where
    some role lacks the permission; the one JSON error body."""
    body = {"application/json": {"schema": {
        "type": "object", "required": ["status", "error"],
        "properties": {"status": {"type": "integer"}, "error": {"type": "string"}},
    }}}
    responses = op.setdefault("responses", {})
    responses.setdefault("401", {"description": "No API key, or an unknown, revoked or expired one",
                                 "content": body})
    if set(PERMISSIONS[permission]) != set(ROLES):
        responses.setdefault("403", {"description": "The key's role may not do this",
                                     "content": body})


ReadAccess = Annotated[Principal, Depends(require("read"))]
RecordsAccess = Annotated[Principal, Depends(require("records"))]
ReportAccess = Annotated[Principal, Depends(require("report"))]
TransitionAccess = Annotated[Principal, Depends(require("transition"))]
PlanAccess = Annotated[Principal, Depends(require("plan"))]
AdminAccess = Annotated[Principal, Depends(require("manage_keys"))]
