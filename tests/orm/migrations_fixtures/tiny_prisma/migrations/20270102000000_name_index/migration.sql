CREATE INDEX CONCURRENTLY "Item_name_idx" ON "Item"("name");
