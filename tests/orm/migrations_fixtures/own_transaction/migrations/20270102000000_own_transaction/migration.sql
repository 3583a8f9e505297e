-- The file manages its own transaction.
BEGIN;

ALTER TABLE "Item" ADD COLUMN "slug" TEXT;

UPDATE "Item" SET "slug" = lower("name");

COMMIT;
