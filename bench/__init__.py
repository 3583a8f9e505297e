"""`make bench`: load-test app-api with wrk against a seeded scratch PostgreSQL database.

`bench.run` drives it, `bench.seed` builds and fills the database, `bench.reference` is the
minimal Starlette + asyncpg app the service is compared with, `bench/wrk/*.lua` are the
scenarios. Dev-only code: nothing in `app/` imports it.
"""
