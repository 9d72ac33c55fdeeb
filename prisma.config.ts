// Prisma 6.19.3 CLI config: run the schema engine as WebAssembly through a pg
// driver adapter, so nothing is downloaded (see STACK.md, "Prisma: the recipe
// that works offline").
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { defineConfig } from 'prisma/config';

// The real URL is read here, before the placeholder below is set.
const databaseUrl = process.env.DATABASE_URL;

// `prisma generate` needs env("DATABASE_URL") to resolve (otherwise it falls
// back to downloading a query engine) but never connects.
process.env.DATABASE_URL ??= 'postgresql://placeholder:placeholder@127.0.0.1:1/placeholder';
process.env.CHECKPOINT_DISABLE ??= '1';
process.env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';

// The Wasm schema engine leaves a long timer pending, so the CLI lingers
// 10-60 s after finishing: unref long timers so the process exits when done.
type TimerFn = (fn: unknown, ms?: number, ...args: unknown[]) => NodeJS.Timeout;
const timers = globalThis as unknown as Record<'setTimeout' | 'setInterval', TimerFn>;
for (const name of ['setTimeout', 'setInterval'] as const) {
  const original = timers[name];
  const patched: TimerFn = (fn, ms, ...args) => {
    const timer = original(fn, ms, ...args);
    if ((ms ?? 0) >= 5000) timer.unref?.();
    return timer;
  };
  timers[name] = Object.assign(patched, original);
}

// Introspection (migrate deploy/dev) reads columns of type `name` (oid 19) and
// `"char"` (oid 18), which @prisma/adapter-pg 6.19.3 rejects with "Column type
// 'name' could not be deserialized" (prisma/orm#27403). Their text values are
// plain strings, so report them as `text` (oid 25), remembering the `"char"`
// columns on the rows array for charColumnsAsCharacter below.
const CHAR_COLUMNS = Symbol('charColumns');
function fixFields<T>(result: T): T {
  for (const r of (Array.isArray(result) ? result : [result]) as (pg.QueryResult | undefined)[]) {
    const chars: number[] = [];
    r?.fields?.forEach((field, i) => {
      if (field.dataTypeID === 18) chars.push(i);
      if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
    });
    if (chars.length && Array.isArray(r?.rows)) Object.defineProperty(r.rows, CHAR_COLUMNS, { value: chars });
  }
  return result;
}

// The engine reads `pg_constraint.contype` ("char") with get_expect_char, which
// panics ("RuntimeError: unreachable") on a Text value. On PostgreSQL 18 every
// NOT NULL column has a contype 'n' row, so `migrate dev` panics as soon as a
// table exists (prisma/orm#29635). Report `"char"` columns as Character.
type Queryable = Pick<Awaited<ReturnType<PrismaPg['connect']>>, 'queryRaw'>;
function charColumnsAsCharacter<T extends Queryable>(q: T): T {
  const queryRaw = q.queryRaw.bind(q);
  q.queryRaw = async (query) => {
    const result = await queryRaw(query);
    const chars = (result.rows as { [CHAR_COLUMNS]?: number[] })[CHAR_COLUMNS] ?? [];
    for (const i of chars) result.columnTypes[i] = 6; // ColumnTypeEnum.Character
    return result;
  };
  return q;
}

async function connectAdapter(pool: pg.Pool, options?: ConstructorParameters<typeof PrismaPg>[1]) {
  const adapter = charColumnsAsCharacter(await new PrismaPg(pool, options).connect());
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => charColumnsAsCharacter(await startTransaction(isolationLevel));
  return adapter;
}

function createPool(connectionString: string): pg.Pool {
  // allowExitOnIdle: idle pooled sockets must not keep the CLI alive.
  const pool = new pg.Pool({ connectionString, allowExitOnIdle: true });
  // pool.query and transactions both go through the pooled clients' query().
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (err: unknown, res: unknown) => last(err, err ? res : fixFields(res));
        return query(...args);
      }
      const out = query(...args);
      return out instanceof Promise ? out.then(fixFields) : out;
    };
  });
  return pool;
}

async function withAdminClient(url: string, fn: (c: pg.Client) => Promise<unknown>) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

// `migrate dev`'s shadow database: the adapter's own connectToShadowDb ignores
// the database name of a connection string and drops the shadow database
// while its pool is still open ("being accessed by other users"). Create a
// uniquely named database, and on dispose end its pool first, then drop it.
class PrismaPgForMigrate extends PrismaPg {
  constructor(private readonly url: string) {
    super({ connectionString: url });
  }

  override async connect() {
    if (!databaseUrl) {
      // The CLI reports adapter errors only as "External error id#0".
      const message = 'DATABASE_URL is not set (use `npx tsx scripts/prisma.ts ...`)';
      console.error(message);
      throw new Error(message);
    }
    return connectAdapter(createPool(this.url), { disposeExternalPool: true });
  }

  override async connectToShadowDb() {
    const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await withAdminClient(this.url, (c) => c.query(`CREATE DATABASE "${name}"`));
    const shadowUrl = new URL(this.url);
    shadowUrl.pathname = `/${name}`;
    const pool = createPool(shadowUrl.toString());
    const adapter = await connectAdapter(pool);
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await pool.end();
      await withAdminClient(this.url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    };
    return adapter;
  }
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  experimental: { adapter: true },
  engine: 'js',
  // Also called by commands that never connect (`prisma --version`).
  async adapter() {
    return new PrismaPgForMigrate(process.env.DATABASE_URL!);
  },
});
