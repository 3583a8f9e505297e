"""The example's page scopes (app-web mints tokens with them)."""

READ_SCOPE = "pages:read"
WRITE_SCOPE = "pages:write"
