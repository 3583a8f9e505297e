CREATE TABLE "BeforeTheTransaction" ("id" INTEGER);

BEGIN;
CREATE TABLE "InTheTransaction" ("id" INTEGER);
SELECT 1 / 0;
COMMIT;
