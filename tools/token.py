"""`make token`: print a development JWT signed with the configured SECRET_KEY."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.config import Settings
from app.core.security import create_token


class _Environment(BaseSettings):
    """ENVIRONMENT alone, read as Settings reads it: checked before the rest is validated."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    ENVIRONMENT: str = "local"


def all_scopes() -> list[str]:
    """`pages:write tags:write users:read …`: what a developer token may do (write implies read)."""
    from app.core.declarations import V1

    scopes = {f"{r.scope}:{'read' if r.read_only else 'write'}" for r in V1 if r.parent is None}
    return sorted(scopes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scope",
        default="",
        help="space-separated scopes (default: every resource's, write where it is writable)",
    )
    parser.add_argument("--sub", default="dev@app-web", help="the subject (logged as the actor)")
    parser.add_argument("--expires-in", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    environment = _Environment().ENVIRONMENT
    if environment != "local":
        # Outside local the other settings may not validate here either: refuse before them.
        print(
            f"make token refuses: ENVIRONMENT={environment}; development tokens exist only in "
            "local (app-web mints the tokens elsewhere)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = Settings()
    except ValidationError as exc:
        reasons = "; ".join(
            ": ".join([*map(str, error["loc"][:1]), error["msg"]]) for error in exc.errors()
        )
        print(f"make token: the settings do not validate: {reasons}", file=sys.stderr)
        return 2
    scopes = args.scope.split() or all_scopes()
    token = create_token(settings, subject=args.sub, scopes=scopes, expires_in=args.expires_in)
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
