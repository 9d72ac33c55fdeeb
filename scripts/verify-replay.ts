// `npm run verify-replay`: for every context, rebuild it from its event log
// alone and compare with the stored rows. Exits 1 and prints the differences
// when any context disagrees. Uses DATABASE_URL, else the embedded database.
import { diffViews, rebuild, type ContextView } from '@chat/core';
import { createPrismaClient, ensureDatabase, ReadModels } from '@chat/db';

const database = await ensureDatabase();
const db = createPrismaClient(database.url);
const reads = new ReadModels(db.prisma, db.pool);
let failed = 0;
let checked = 0;
try {
  for (const contextId of await reads.allContextIds()) {
    const stored = await reads.storedRows(contextId);
    if (!stored) continue;
    const storedView: ContextView = {
      context: stored.context,
      branches: new Map(stored.branches.map((b) => [b.id, b])),
      messages: new Map(stored.messages.map((m) => [m.id, m])),
      runs: new Map(stored.runs.map((r) => [r.id, r])),
      toolCalls: new Map(stored.toolCalls.map((t) => [t.id, t])),
    };
    let diffs: string[];
    try {
      diffs = diffViews(storedView, rebuild(await reads.allEvents(contextId)));
    } catch (error) {
      diffs = [`rebuild failed: ${String(error)}`];
    }
    checked++;
    if (diffs.length) {
      failed++;
      console.error(`context ${contextId}: rebuild differs from the stored state`);
      for (const d of diffs.slice(0, 50)) console.error(`  ${d}`);
    }
  }
} finally {
  await db.close();
  await database.stop();
}
console.log(`verify-replay: ${checked} contexts checked, ${failed} differ`);
process.exit(failed ? 1 : 0);
