-- A reply retried after a crash answers in its interrupted message, the earlier text is kept here.
ALTER TABLE "Message" ADD COLUMN     "attempts" JSONB NOT NULL DEFAULT '[]';

-- Questions queued behind a running reply wait off the path of their branch (status queued) until their
-- run starts: the repository loads them and readers list them after the path, by this small index.
CREATE INDEX "Message_queued_idx" ON "Message"("contextId", "branchId", "seq") WHERE status = 'queued';
