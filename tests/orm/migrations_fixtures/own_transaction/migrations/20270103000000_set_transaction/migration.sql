BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
CREATE TABLE "Audit" (
    "id" SERIAL NOT NULL,
    "note" TEXT NOT NULL DEFAULT 'a;b',
    CONSTRAINT "Audit_pkey" PRIMARY KEY ("id")
);
INSERT INTO "Audit" ("note") VALUES ('isolation: ' || current_setting('transaction_isolation'));
COMMIT;
