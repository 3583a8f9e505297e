-- CreateEnum
CREATE TYPE "ItemKind" AS ENUM ('PLAIN', 'SPECIAL');

-- CreateTable
CREATE TABLE "Item" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "ItemKind" NOT NULL DEFAULT 'PLAIN',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Item_pkey" PRIMARY KEY ("id")
);
