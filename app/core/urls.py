"""URLs fit for a message: the password and secret-looking query parameters masked.

Standard library only: the tools (make orm, the migration applier) use it too, and must not
import the generated models.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"
# Setting (or URL query parameter) names whose values are secrets whatever their type.
_SECRET_HINTS = ("SECRET", "PASSWORD", "TOKEN", "KEY", "DSN", "CREDENTIAL")


def looks_secret(name: str) -> bool:
    """A setting or URL query parameter whose value is a secret whatever its type."""
    upper = name.upper()
    return any(hint in upper for hint in _SECRET_HINTS)


def redact_url(url: str, *, hide_username: bool = False) -> str:
    """The URL with its password (and, if asked, user) and secret-looking parameters masked."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return MASK
    result = url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        shown = MASK if hide_username and user else user
        netloc = f"{shown}:{MASK}@{hostport}" if colon else f"{shown}@{hostport}"
        # Only the authority is rewritten: urlunsplit would turn `sqlite:////abs` into `//abs`.
        result = result.replace(f"//{parts.netloc}", f"//{netloc}", 1)
    if any(looks_secret(key) for key, _ in query):
        masked = [(key, MASK if looks_secret(key) else value) for key, value in query]
        result = result.replace(f"?{parts.query}", f"?{urlencode(masked, safe='*/:')}", 1)
    return result
