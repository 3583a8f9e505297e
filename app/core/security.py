"""Bearer JWTs (HS256) minted by the monorepo's server code with `SECRET_KEY`."""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from app.core.config import Settings
from app.core.errors import ForbiddenError, UnauthorizedError

ALGORITHM = "HS256"
# Scopes are `<resource>:read` / `<resource>:write` (app.resource.Resource.scope).
_CACHE_SIZE = 4096

# Our own rule (32+ characters outside local, a startup warning in local) replaces PyJWT's
# per-call warning about short HMAC keys.
warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and what they may do."""

    subject: str
    scopes: frozenset[str]
    expires_at: float

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise ForbiddenError(f"The token lacks the {scope!r} scope.")


def _scopes(claim: Any) -> frozenset[str]:
    if isinstance(claim, str):
        # RFC 6749 §3.3: scopes are separated by spaces (U+0020) only, not by any whitespace.
        granted = {scope for scope in claim.split(" ") if scope}
    elif isinstance(claim, list):
        granted = {item for item in claim if isinstance(item, str)}  # pyright: ignore[reportUnknownVariableType]
    else:
        granted = set[str]()
    # Holding a write scope implies the read scope of the same resource.
    granted |= {scope[: -len(":write")] + ":read" for scope in granted if scope.endswith(":write")}
    return frozenset(granted)


class TokenVerifier:
    """Verify tokens, remembering good ones until they expire (verification costs a HMAC)."""

    def __init__(self, settings: Settings) -> None:
        self._key = settings.SECRET_KEY.get_secret_value()
        self._audience = settings.JWT_AUDIENCE
        self._issuer = settings.JWT_ISSUER
        self._leeway = settings.JWT_LEEWAY_SECONDS
        self._cache: OrderedDict[str, Principal] = OrderedDict()

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None and cached.expires_at + self._leeway > now:
            return cached
        principal = self._decode(token)
        self._cache[token] = principal
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return principal

    def _decode(self, token: str) -> Principal:
        try:
            # The key parameter's union names `cryptography` types (not installed: HS256 only).
            claims: dict[str, Any] = jwt.decode(  # pyright: ignore[reportUnknownMemberType]
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise UnauthorizedError("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise UnauthorizedError("The token is not valid yet.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise UnauthorizedError(f"The token has no {exc.claim!r} claim.") from None
        except jwt.InvalidAudienceError:
            raise UnauthorizedError("The token is for another audience.") from None
        except jwt.InvalidIssuerError:
            raise UnauthorizedError("The token is from another issuer.") from None
        except jwt.InvalidAlgorithmError:
            raise UnauthorizedError(f"Only {ALGORITHM} tokens are accepted.") from None
        except jwt.InvalidTokenError:
            raise UnauthorizedError("The token is malformed or its signature is invalid.") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise UnauthorizedError("The token has no 'sub' claim.")
        return Principal(
            subject=subject, scopes=_scopes(claims.get("scope")), expires_at=float(claims["exp"])
        )


def create_token(
    settings: Settings,
    *,
    subject: str,
    scopes: list[str],
    expires_in: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """Mint a token as the monorepo's server code would (used by `make token` and tests)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + expires_in,
    }
    if settings.JWT_AUDIENCE:
        claims["aud"] = settings.JWT_AUDIENCE
    if settings.JWT_ISSUER:
        claims["iss"] = settings.JWT_ISSUER
    claims.update(extra or {})
    return jwt.encode(  # pyright: ignore[reportUnknownMemberType]
        claims, settings.SECRET_KEY.get_secret_value(), algorithm=ALGORITHM
    )
