"""Bearer-token authentication and authorisation (ARCHITECTURE §6).

Tokens are JWTs signed with an asymmetric key and verified against either a JWKS URL
(any OIDC provider, e.g. Keycloak) or a local public key file (the embedded issuer that
``make run`` creates). Claims used: ``sub``, ``scope`` (space-separated), ``roles``,
``region`` (12-digit code: access is limited to that subtree) and ``dept``. Every token
must name this platform as its audience (``aud``, :data:`DEFAULT_AUDIENCE` unless
configured), carry ``iat`` and ``exp``, and live no longer than the configured maximum: a
token the same provider issued for another application, or one that never expires, is
refused.

Every route declares the scopes it needs with :func:`requires` (each service names its
callers once, in ``<service>/auth.py``); the app factory refuses to start if a non-public
route has none (deny by default). Which role holds which scopes is not kit's: the local
issuer is told the scopes (devstack reads them from services/roles.toml).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.region import RegionCode, is_within, region_prefix, validate_region_code
from kit import problems
from kit.problems import not_found

log = logging.getLogger(__name__)

ALGORITHMS = ["EdDSA", "RS256", "ES256"]  # asymmetric only; never "none" or HS*
JWKS_CACHE_SECONDS = 300
#: Least time between two fetches of the key set caused by tokens (an unknown key id, a
#: failed fetch): a stream of tokens with made-up key ids must not become a stream of
#: requests to the identity provider.
JWKS_REFETCH_SECONDS = 30.0
JWKS_TIMEOUT_SECONDS = 5.0
VERIFIED_CACHE_SIZE = 10_000
#: The audience the local issuer writes and every service requires unless configured
#: otherwise (an OIDC provider's client for the platform must put it in ``aud``).
DEFAULT_AUDIENCE = "jingzhun"
#: Longest lifetime (``exp`` − ``iat``) of a token accepted by default.
MAX_TOKEN_LIFETIME = dt.timedelta(hours=12)

HELPER_CLAIM = "helper_id"
HELPER_ROLE = "helper"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    scopes: frozenset[str]
    region: str
    roles: tuple[str, ...] = ()
    dept: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def region_prefix(self) -> str:
        """Every region code the caller may see starts with this."""
        return region_prefix(self.region)

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def can_access(self, region_code: str) -> bool:
        return is_within(region_code, self.region)

    @property
    def is_helper(self) -> bool:
        """A helper (帮扶责任人): may see only the households assigned to them, whatever
        the region (a ``helper_id`` claim, or the ``helper`` role without one)."""
        return HELPER_CLAIM in self.claims or HELPER_ROLE in self.roles

    def helper_id(self) -> uuid.UUID:
        """The registry's id of the helper the token speaks for (403 without a valid one)."""
        try:
            return uuid.UUID(str(self.claims.get(HELPER_CLAIM)))
        except ValueError:
            raise problems.NOT_A_HELPER(
                "this is for helpers (帮扶责任人): the token carries no valid `helper_id` claim"
            ) from None


#: An endpoint's ``region: RegionQuery = None`` parameter, resolved by :func:`region_in_scope`.
RegionQuery = Annotated[
    RegionCode | None, Query(description="Region subtree (default: your region)")
]


def region_in_scope(actor: Principal, code: str | None, *, field: str) -> str:
    """``code`` (default: the caller's region) if it lies in the caller's subtree.

    Outside is a 403 naming ``field`` (not an empty answer): a township official asking
    about another township learns that they may not, not that it is empty."""
    code = code or actor.region
    if not actor.can_access(code):
        raise problems.OUTSIDE_REGION(
            f"{code} is outside the region of your account ({actor.region})", field=field
        )
    return code


def ensure_visible(actor: Principal, region_code: str | None, *, what: str) -> None:
    """A 404 ``what`` not found unless a record exists (``region_code`` is not None) in the
    caller's subtree: outside the region looks the same as absent (nothing leaks)."""
    if region_code is None or not actor.can_access(region_code):
        raise not_found(what)


def ensure_in_region(actor: Principal, region_code: str, *, field: str) -> None:
    """A 403 OUTSIDE_REGION naming ``field`` unless ``region_code`` (of something the caller
    writes or names) lies in the caller's subtree."""
    if not actor.can_access(region_code):
        raise problems.OUTSIDE_REGION(
            f"{region_code} is outside the region of your account", field=field
        )


def region_filter(actor: Principal, code: str | None, *, field: str = "query.region") -> str | None:
    """An optional region filter of a list: None when not given, else the region if it lies
    in the caller's subtree, a 403 OUTSIDE_REGION if not (as :func:`region_in_scope`, so a
    list answers as the gateway does, not with an empty page)."""
    return None if code is None else region_in_scope(actor, code, field=field)


class IdentityProviderUnavailable(Exception):
    """The key set could not be fetched: the caller may retry after ``retry_after`` s."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = max(1, math.ceil(retry_after))


class TokenVerifier:
    """Verifies bearer tokens against a public key file or a JWKS URL.

    The key set is cached for ``cache_seconds``. A token naming a key id the cached
    set lacks (the provider rotated its keys) triggers a refetch, at most one every
    ``refetch_seconds``; concurrent requests wait for the same fetch. If the provider
    cannot be reached the request answers 503 (the token may be fine), unless an older
    key set is held and knows the key: that one is used until the provider is back."""

    def __init__(
        self,
        *,
        public_key_file: Path | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str = DEFAULT_AUDIENCE,
        max_lifetime: dt.timedelta = MAX_TOKEN_LIFETIME,
        refetch_seconds: float = JWKS_REFETCH_SECONDS,
        cache_seconds: float = JWKS_CACHE_SECONDS,
    ) -> None:
        if not public_key_file and not jwks_url:
            raise ValueError("configure AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_URL")
        if not audience:
            raise ValueError("configure AUTH_AUDIENCE: tokens must name their audience")
        self.public_key_file = public_key_file
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime = max_lifetime.total_seconds()
        self.refetch_seconds = refetch_seconds
        self.cache_seconds = cache_seconds
        self._static_key: Any = None
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched_at = -math.inf  # last successful fetch (monotonic)
        self._jwks_attempted_at = -math.inf  # last attempt, successful or not
        self._jwks_error: str | None = None  # why the last attempt failed
        self._jwks_fetch: asyncio.Future[jwt.PyJWKSet] | None = None  # the one in flight
        self._verified: dict[str, tuple[Principal, float]] = {}  # token → (who, valid until)

    async def _key_for(self, token: str) -> Any:
        if self.public_key_file:
            if self._static_key is None:
                self._static_key = serialization.load_pem_public_key(
                    self.public_key_file.read_bytes()
                )
            return self._static_key
        kid = jwt.get_unverified_header(token).get("kid")
        if self._jwks is None or time.monotonic() - self._jwks_fetched_at >= self.cache_seconds:
            try:
                await self._fetch_jwks()
            except IdentityProviderUnavailable:
                if self._jwks is None or _find_key(self._jwks, kid) is None:
                    raise
                log.warning("JWKS refresh failed (%s); using the keys held", self._jwks_error)
        assert self._jwks is not None
        key = _find_key(self._jwks, kid)
        if key is None and (self._may_refetch() or self._jwks_error):  # key rotation
            key = _find_key(await self._fetch_jwks(), kid)
        if key is None:
            raise jwt.InvalidTokenError(
                f"the token's signing key (kid {kid!r}) is not one of the issuer's keys"
            )
        return key

    def _may_refetch(self) -> bool:
        return (
            self._jwks_fetch is not None
            or time.monotonic() - self._jwks_attempted_at >= self.refetch_seconds
        )

    async def _fetch_jwks(self) -> jwt.PyJWKSet:
        """The provider's key set, fetched once for every caller waiting meanwhile."""
        if self._jwks_fetch is None:
            since = time.monotonic() - self._jwks_attempted_at
            if self._jwks_error is not None and since < self.refetch_seconds:
                raise IdentityProviderUnavailable(
                    self._jwks_error, self.refetch_seconds - since
                )  # it failed a moment ago: do not ask again yet
            self._jwks_fetch = asyncio.ensure_future(self._download_jwks())
            self._jwks_fetch.add_done_callback(self._fetched)
        # Shielded: a client that goes away does not cancel the others' fetch.
        return await asyncio.shield(self._jwks_fetch)

    def _fetched(self, fetch: asyncio.Future[jwt.PyJWKSet]) -> None:
        self._jwks_fetch = None
        if not fetch.cancelled():
            fetch.exception()  # retrieved here too: every waiter may have gone

    async def _download_jwks(self) -> jwt.PyJWKSet:
        self._jwks_attempted_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=JWKS_TIMEOUT_SECONDS) as client:
                response = await client.get(self.jwks_url)  # type: ignore[arg-type]
                response.raise_for_status()
            document = response.json()
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            jwks = jwt.PyJWKSet.from_dict(document)
        except httpx.HTTPStatusError as exc:
            self._jwks_error = f"the identity provider answered {exc.response.status_code}"
        except httpx.HTTPError as exc:
            self._jwks_error = f"the identity provider is unreachable ({type(exc).__name__})"
        except (ValueError, TypeError, AttributeError, KeyError, jwt.PyJWTError) as exc:
            self._jwks_error = f"the identity provider's key set is unreadable ({exc})"
        else:
            self._jwks, self._jwks_error = jwks, None
            self._jwks_fetched_at = time.monotonic()
            return jwks
        log.warning("JWKS fetch from %s failed: %s", self.jwks_url, self._jwks_error)
        raise IdentityProviderUnavailable(self._jwks_error, self.refetch_seconds)

    async def verify(self, token: str) -> Principal:
        """Return the principal or raise ``jwt.InvalidTokenError`` with the reason.

        A token verified once is remembered until it expires, for at most as long as the
        keys are (a client sends the same token with every request, and checking its
        signature again was a tenth of a short request's cost)."""
        principal = self.remembered(token)
        if principal is not None:
            return principal
        now = time.time()
        principal = await self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # simple and bounded; a busy minute refills it
        expires = float(principal.claims["exp"])
        self._verified[token] = (principal, min(expires, now + self.cache_seconds))
        return principal

    def remembered(self, token: str | None) -> Principal | None:
        """The principal of a token verified before and not yet expired, without
        verifying anything (None: ask :meth:`verify`)."""
        remembered = self._verified.get(token) if token else None
        if remembered is not None and time.time() < remembered[1]:
            return remembered[0]
        return None

    async def _verify(self, token: str) -> Principal:
        key = await self._key_for(token)
        claims = jwt.decode(
            token,
            key=key,
            algorithms=ALGORITHMS,
            issuer=self.issuer,
            audience=self.audience,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self.max_lifetime:
            raise jwt.InvalidTokenError(
                f"the token is valid for {_hours(lifetime)}, longer than the "
                f"{_hours(self.max_lifetime)} this service accepts: ask for a shorter-lived one"
            )
        region = claims.get("region")
        try:
            validate_region_code(region)
        except ValueError as exc:
            raise jwt.InvalidTokenError(f"region claim: {exc}") from None
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split() if isinstance(scope, str) else scope)
        roles = claims.get("roles") or []
        return Principal(
            subject=str(claims["sub"]),
            scopes=scopes,
            region=region,
            roles=tuple(roles),
            dept=claims.get("dept"),
            claims=claims,
        )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def _find_key(jwks: jwt.PyJWKSet, kid: str | None) -> Any:
    for jwk in jwks.keys:
        if kid is None or jwk.key_id == kid:
            return jwk.key
    return None


# --- the local issuer -------------------------------------------------------------------


def create_key_pair(directory: Path) -> tuple[Path, Path]:
    """Create an Ed25519 key pair in ``directory`` unless it exists; return (private, public)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "private.pem", directory / "public.pem"
    if not private_path.exists():
        key = ed25519.Ed25519PrivateKey.generate()
        private_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_path.chmod(0o600)
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private_path, public_path


def issue_token(
    private_key_pem: bytes,
    *,
    role: str,
    scopes: Sequence[str],
    region: str,
    subject: str | None = None,
    issuer: str = "jingzhun-local",
    audience: str = DEFAULT_AUDIENCE,
    ttl: dt.timedelta = MAX_TOKEN_LIFETIME,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a token for ``role`` holding ``scopes``, limited to ``region``'s subtree. Which
    role holds which scopes is the caller's to say (devstack reads services/roles.toml)."""
    validate_region_code(region)
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or f"demo-{role}",
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "roles": [role],
        "scope": " ".join(scopes),
        "region": region,
        **(extra_claims or {}),
    }
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]


# --- FastAPI dependencies -----------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="JWT from the issuer (make token)"
)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise problems.UNAUTHENTICATED("send 'Authorization: Bearer <token>'")
    verifier: TokenVerifier = request.app.state.runtime.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except IdentityProviderUnavailable as exc:
        raise problems.IDENTITY_PROVIDER_UNAVAILABLE(
            f"the token cannot be checked now: {exc}; try again shortly",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except jwt.ExpiredSignatureError:
        raise problems.TOKEN_EXPIRED("the bearer token has expired") from None
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise problems.INVALID_TOKEN(_refusal(exc, verifier)) from None


def _refusal(exc: Exception, verifier: TokenVerifier) -> str:
    """Why a token is refused, in the caller's terms (not the decoder's internals)."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the token's signature does not verify against the issuer's keys"
    if isinstance(exc, jwt.DecodeError):
        return (
            "the bearer token is not a valid JWT (expected three base64url-encoded parts, "
            "header.payload.signature, as the identity provider issues them)"
        )
    if isinstance(exc, jwt.InvalidAudienceError):
        return (
            f"the token is not meant for this platform: its audience must be {verifier.audience!r}"
        )
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the {exc.claim!r} claim"
    if isinstance(exc, jwt.InvalidIssuerError):
        return f"the token was not issued by {verifier.issuer!r}"
    return str(exc)


def public(reason: str) -> Any:
    """Dependency marking a route open to everyone, without a token (e.g. a 公示 notice
    board). The route audit accepts it as a deliberate choice; ``reason`` says why."""

    async def open_to_everyone() -> None:
        return None

    open_to_everyone.required_scopes = ()  # type: ignore[attr-defined]
    open_to_everyone.public_reason = reason  # type: ignore[attr-defined]
    return Depends(open_to_everyone)


def requires(*scopes: str) -> Any:
    """Dependency: the caller must hold every one of ``scopes``. Returns the Principal."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        missing = [s for s in scopes if not principal.has(s)]
        if missing:
            raise problems.MISSING_SCOPE(f"this operation needs the scope(s): {', '.join(missing)}")
        return principal

    check.required_scopes = scopes  # type: ignore[attr-defined]  # read by the route audit
    return Depends(check)


def requires_any(*scopes: str) -> Any:
    """Dependency: the caller must hold at least one of ``scopes``. Returns the Principal."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not any(principal.has(s) for s in scopes):
            raise problems.MISSING_SCOPE(
                f"this operation needs one of the scopes: {', '.join(scopes)}"
            )
        return principal

    check.required_scopes = scopes  # type: ignore[attr-defined]  # read by the route audit
    return Depends(check)
