// Prisma CLI config for the one-shot `migrate` service of compose.yaml.
//
// Prisma 7 no longer reads the connection URL from schema.prisma (our datasource has no `url`),
// and `prisma migrate deploy` has no --url flag: the CLI takes the URL from this file.
// compose mounts it as /migrate/prisma.config.ts next to a read-only ./prisma at /migrate/prisma,
// so the relative paths below mean the same whether Prisma resolves them from the working
// directory or from this file.
//
// No import on purpose: `npx prisma@<version>` runs from the npx cache, where
// `import { defineConfig } from "prisma/config"` would not resolve. A plain object is a valid
// config; defineConfig only adds types. Prisma 7 does not load .env: DATABASE_URL comes from the
// container's environment.
export default {
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL },
};
