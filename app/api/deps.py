"""Dependencies named once, used by every route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import get_session
from app.core.errors import UnauthorizedError
from app.core.security import READ_SCOPE, WRITE_SCOPE, Principal, TokenVerifier

# scope="function": the transaction commits when the route returns, before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A JWT (HS256) minted by app-web's server code with SECRET_KEY; `make token` prints one.",
)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    if credentials is None:
        raise UnauthorizedError("Send an 'Authorization: Bearer <token>' header.", error="")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(credentials.credentials)
    request.state.actor = principal.subject
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def require_reader(principal: PrincipalDep) -> Principal:
    principal.require(READ_SCOPE)
    return principal


async def require_writer(principal: PrincipalDep) -> Principal:
    principal.require(WRITE_SCOPE)
    return principal


ReaderDep = Annotated[Principal, Depends(require_reader)]
WriterDep = Annotated[Principal, Depends(require_writer)]
