-- The repository loads a context's open runs by (contextId, status): an index range read, whatever the number of runs.
CREATE INDEX "Run_contextId_status_idx" ON "Run"("contextId", "status");
