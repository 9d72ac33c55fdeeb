-- A run's messages (run.latest, a subscriber's snapshot of a streaming reply) and a chat's notes are index lookups.
CREATE INDEX "Message_runId_idx" ON "Message"("runId");
CREATE INDEX "Note_contextId_idx" ON "Note"("contextId");
