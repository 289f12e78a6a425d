"""Bearer-token authentication and authorisation (ARCHITECTURE §6).

Tokens are JWTs signed with an asymmetric key and verified against either a JWKS URL
(any OIDC provider, e.g. Keycloak) or a local public key file (the embedded issuer that
``make run`` creates). Claims used: ``sub``, ``scope`` (space-separated), ``roles``,
``region`` (12-digit code: access is limited to that subtree) and ``dept``.

Every route declares the scopes it needs with :func:`requires`; the app factory refuses
to start if a non-public route has none (deny by default).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.region import is_within, region_prefix, validate_region_code
from kit.errors import Problem

ALGORITHMS = ["EdDSA", "RS256", "ES256"]  # asymmetric only; never "none" or HS*
JWKS_CACHE_SECONDS = 300
VERIFIED_CACHE_SIZE = 10_000

#: Demo roles of the embedded issuer and the scopes each one gets (DOMAIN §9).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "county_admin": (
        "registry:read",
        "registry:write",
        "registry:approve",
        "pii:read",
        "status:read",
        "stats:read",
        "events:subscribe",
        "policy:write",
        "audit:read",
    ),
    "registry_clerk": ("registry:read", "registry:write", "pii:read", "status:read"),
    "village_cadre": ("registry:read", "pii:read", "status:read"),
    "health_officer": ("health:read", "health:write", "registry:read", "status:read"),
    "dashboard": ("status:read", "stats:read", "events:subscribe"),
    # 帮扶责任人: their token also carries `helper_id`, the registry's id of the helper.
    "helper": ("status:read",),
    "auditor": ("registry:read", "status:read", "stats:read", "audit:read"),
}


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


def region_in_scope(actor: Principal, code: str | None, *, field: str) -> str:
    """``code`` (default: the caller's region) if it lies in the caller's subtree.

    Outside is a 403 naming ``field`` (not an empty answer): a township official asking
    about another township learns that they may not, not that it is empty."""
    code = code or actor.region
    if not actor.can_access(code):
        raise Problem(
            403,
            "Outside your region",
            f"{code} is outside the region of your account ({actor.region})",
            code="OUTSIDE_REGION",
            field=field,
        )
    return code


def region_filter(actor: Principal, code: str | None, *, field: str = "query.region") -> str | None:
    """An optional region filter of a list: None when not given, else the region if it lies
    in the caller's subtree, a 403 OUTSIDE_REGION if not (as :func:`region_in_scope`, so a
    list answers as the gateway does, not with an empty page)."""
    return None if code is None else region_in_scope(actor, code, field=field)


class TokenVerifier:
    """Verifies bearer tokens against a public key file or a JWKS URL."""

    def __init__(
        self,
        *,
        public_key_file: Path | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        if not public_key_file and not jwks_url:
            raise ValueError("configure AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_URL")
        self.public_key_file = public_key_file
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._static_key: Any = None
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched_at = 0.0
        self._verified: dict[str, tuple[Principal, float]] = {}  # token → (who, valid until)

    async def _key_for(self, token: str) -> Any:
        if self.public_key_file:
            if self._static_key is None:
                self._static_key = serialization.load_pem_public_key(
                    self.public_key_file.read_bytes()
                )
            return self._static_key
        kid = jwt.get_unverified_header(token).get("kid")
        jwks = await self._load_jwks(refresh=False)
        key = _find_key(jwks, kid)
        if key is None:  # key rotation: refetch once
            key = _find_key(await self._load_jwks(refresh=True), kid)
        if key is None:
            raise jwt.InvalidTokenError("signing key not found in JWKS")
        return key

    async def _load_jwks(self, *, refresh: bool) -> jwt.PyJWKSet:
        fresh = time.monotonic() - self._jwks_fetched_at < JWKS_CACHE_SECONDS
        if self._jwks is None or refresh or not fresh:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(self.jwks_url)  # type: ignore[arg-type]
                response.raise_for_status()
            self._jwks = jwt.PyJWKSet.from_dict(response.json())
            self._jwks_fetched_at = time.monotonic()
        return self._jwks

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
        self._verified[token] = (principal, min(expires, now + JWKS_CACHE_SECONDS))
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
        options = {"require": ["exp", "sub"], "verify_aud": self.audience is not None}
        claims = jwt.decode(
            token,
            key=key,
            algorithms=ALGORITHMS,
            issuer=self.issuer,
            audience=self.audience,
            options=options,
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
    region: str,
    subject: str | None = None,
    issuer: str = "jingzhun-local",
    ttl: dt.timedelta = dt.timedelta(hours=12),
    scopes: tuple[str, ...] | None = None,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """Sign a token for a demo role (or explicit scopes) limited to ``region``'s subtree."""
    validate_region_code(region)
    if scopes is None:
        if role not in ROLE_SCOPES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLE_SCOPES)}")
        scopes = ROLE_SCOPES[role]
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
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
        raise Problem(
            401,
            "Authentication required",
            "send 'Authorization: Bearer <token>'",
            code="UNAUTHENTICATED",
        )
    verifier: TokenVerifier = request.app.state.runtime.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except jwt.ExpiredSignatureError:
        raise Problem(
            401, "Token expired", "the bearer token has expired", code="TOKEN_EXPIRED"
        ) from None
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise Problem(401, "Invalid token", str(exc), code="INVALID_TOKEN") from None


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
            raise Problem(
                403,
                "Forbidden",
                f"this operation needs the scope(s): {', '.join(missing)}",
                code="MISSING_SCOPE",
            )
        return principal

    check.required_scopes = scopes  # type: ignore[attr-defined]  # read by the route audit
    return Depends(check)
