-- A function body with semicolons, a DO block, then an enum value used right after it is
-- added: each statement commits on its own, as Prisma 7.4+ runs them.
CREATE FUNCTION "item_touch"() RETURNS trigger AS $body$
BEGIN
    NEW."createdAt" := now();
    RETURN NEW;
END;
$body$ LANGUAGE plpgsql;

DO $$
BEGIN
    INSERT INTO "Audit" ("note") VALUES ('done; in a DO block');
END
$$;

ALTER TYPE "ItemKind" ADD VALUE 'ARCHIVED';

ALTER TABLE "Item" ALTER COLUMN "kind" SET DEFAULT 'ARCHIVED';
