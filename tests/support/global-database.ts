import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateDeploy, startEmbeddedPostgres } from '@chat/db';

/**
 * One PostgreSQL for the whole test run: DATABASE_URL when set (e.g. a system
 * server), else a fresh embedded server in a temp dir. The schema is migrated
 * once into a template database; each test file clones it (see database.ts),
 * so files never see each other's rows or workers.
 */
export default async function setup(project: TestProject) {
  let dataDir: string | null = null;
  let stop = async () => {};
  let url = process.env.DATABASE_URL;
  if (!url) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-test-pg-'));
    const db = await startEmbeddedPostgres({ dataDir });
    url = db.url;
    stop = db.stop;
  }
  const template = `chat_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();
  const templateUrl = withDatabase(url, template);
  await migrateDeploy(templateUrl);
  project.provide('adminDatabaseUrl', url);
  project.provide('templateDatabase', template);
  return async () => {
    await stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}
