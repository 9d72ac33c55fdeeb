import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withDatabase } from './global-database.ts';

/** A fresh, migrated database for one test file (a clone of the run's template). */
export async function createTestDatabase(): Promise<string> {
  const admin = inject('adminDatabaseUrl');
  const name = `chat_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    // CREATE DATABASE ... TEMPLATE needs the template to have no other sessions; retry briefly if it does.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
        break;
      } catch (error) {
        if (attempt > 20 || (error as { code?: string }).code !== '55006') throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await client.end();
  }
  return withDatabase(admin, name);
}
