-- Several statements around CONCURRENTLY: Prisma 7.4+ sends each one on its own.
SET lock_timeout = '5s';

CREATE INDEX CONCURRENTLY "Item_createdAt_idx" ON "Item"("createdAt");

CREATE UNIQUE INDEX CONCURRENTLY "Item_name_kind_key" ON "Item"("name", "kind");

RESET lock_timeout;
