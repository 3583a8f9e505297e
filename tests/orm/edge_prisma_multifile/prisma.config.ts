// Prisma 7 layout: the schema is a folder (schema.prisma holds datasource/generator only,
// the models live in schema/models/*.prisma). legacy/ is outside it: Prisma never reads it.
import path from "node:path";
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: path.join("schema"),
  migrations: { path: "migrations" },
});
