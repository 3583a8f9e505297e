-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "citext";

-- CreateEnum
CREATE TYPE "chart_kind" AS ENUM ('bar-chart', 'line', 'PIE');

-- CreateTable
CREATE TABLE "Dashboard" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "owner_id" INTEGER NOT NULL,

    CONSTRAINT "Dashboard_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Field" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL,
    "kind" "chart_kind" NOT NULL DEFAULT 'bar-chart',
    "weight" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "payload" BYTEA,
    "email" CITEXT,
    "legacy" TEXT,
    "dashboardId" TEXT NOT NULL,

    CONSTRAINT "Field_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Tag" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,

    CONSTRAINT "Tag_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "managerId" INTEGER,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Profile" (
    "id" SERIAL NOT NULL,
    "bio" TEXT,
    "user_id" INTEGER NOT NULL,

    CONSTRAINT "Profile_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Message" (
    "id" SERIAL NOT NULL,
    "body" TEXT NOT NULL,
    "senderId" INTEGER NOT NULL,
    "recipientId" INTEGER NOT NULL,

    CONSTRAINT "Message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Setting" (
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" TEXT
);

-- CreateTable
CREATE TABLE "AuditTrail" (
    "id" INTEGER NOT NULL,
    "note" TEXT NOT NULL,

    CONSTRAINT "AuditTrail_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_DashboardToTag" (
    "A" TEXT NOT NULL,
    "B" INTEGER NOT NULL,

    CONSTRAINT "_DashboardToTag_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateTable
CREATE TABLE "_Follows" (
    "A" INTEGER NOT NULL,
    "B" INTEGER NOT NULL,

    CONSTRAINT "_Follows_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE INDEX "Dashboard_owner_id_idx" ON "Dashboard"("owner_id");

-- CreateIndex
CREATE INDEX "Field_dashboardId_idx" ON "Field"("dashboardId");

-- CreateIndex
CREATE UNIQUE INDEX "Tag_name_key" ON "Tag"("name");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE INDEX "User_managerId_idx" ON "User"("managerId");

-- CreateIndex
CREATE UNIQUE INDEX "Profile_user_id_key" ON "Profile"("user_id");

-- CreateIndex
CREATE INDEX "Message_senderId_idx" ON "Message"("senderId");

-- CreateIndex
CREATE INDEX "Message_recipientId_idx" ON "Message"("recipientId");

-- CreateIndex
CREATE UNIQUE INDEX "Setting_scope_key_key" ON "Setting"("scope", "key");

-- CreateIndex
CREATE INDEX "_DashboardToTag_B_index" ON "_DashboardToTag"("B");

-- CreateIndex
CREATE INDEX "_Follows_B_index" ON "_Follows"("B");

-- Hand-written (Prisma cannot express them): expression indexes.
CREATE INDEX "Field_label_lower_idx" ON "Field" (lower("label"));
CREATE INDEX "Dashboard_title_search_idx" ON "Dashboard" USING gin (to_tsvector('english', "title"));

-- CreateTable
CREATE TABLE "Org" (
    "region" TEXT NOT NULL,
    "code" TEXT NOT NULL,

    CONSTRAINT "Org_pkey" PRIMARY KEY ("region","code")
);

-- CreateTable
CREATE TABLE "Team" (
    "id" INTEGER NOT NULL,
    "orgRegion" TEXT NOT NULL,
    "orgCode" TEXT NOT NULL,
    "nextId" INTEGER,

    CONSTRAINT "Team_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Team_nextId_key" ON "Team"("nextId");

-- CreateIndex
CREATE INDEX "Team_orgRegion_orgCode_idx" ON "Team"("orgRegion", "orgCode");
