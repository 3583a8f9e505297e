"""app-api: JSON CRUD over the Prisma-owned database of the Next.js monorepo."""

__version__ = "0.1.0"
