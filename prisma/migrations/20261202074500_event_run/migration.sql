-- run.latest reads a run's events by index instead of filtering every event of the chat by its payload.
-- Existing events get the run they are about: named in the payload, or through their message or tool call.
ALTER TABLE "Event" ADD COLUMN "runId" TEXT;

UPDATE "Event" e SET "runId" = coalesce(
  e.payload->>'runId',
  e.payload->'run'->>'id',
  e.payload->'message'->>'runId',
  e.payload->'toolCall'->>'runId',
  (SELECT m."runId" FROM "Message" m WHERE m.id = e.payload->>'messageId'),
  (SELECT t."runId" FROM "ToolCall" t WHERE t.id = e.payload->>'toolCallId')
);

CREATE INDEX "Event_runId_seq_idx" ON "Event"("runId", "seq");
