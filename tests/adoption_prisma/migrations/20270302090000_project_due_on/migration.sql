-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "dueOn" DATE;

-- CreateIndex
CREATE INDEX "Project_title_idx" ON "Project"("title");
