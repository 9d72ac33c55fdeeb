import net from 'node:net';
import pg from 'pg';
import { expect, test } from 'vitest';
import { createPrismaClient } from './prisma-client.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a failure'), (error: unknown) => error);

test('a database that is not there: pg and Prisma (model query, raw query, transaction) errors are all "unavailable"', async () => {
  const url = `postgresql://postgres:password@127.0.0.1:${await closedPort()}/chat`;
  const client = new pg.Client(url);
  expect(isDatabaseUnavailable(await failure(client.connect()))).toBe(true);
  const { prisma, pool, close } = createPrismaClient(url);
  try {
    expect(isDatabaseUnavailable(await failure(pool.query('SELECT 1')))).toBe(true);
    expect(isDatabaseUnavailable(await failure(prisma.context.findMany({ take: 1 })))).toBe(true);
    expect(isDatabaseUnavailable(await failure(prisma.$queryRaw`SELECT 1`))).toBe(true);
    expect(isDatabaseUnavailable(await failure(prisma.$transaction(async (tx) => tx.context.count())))).toBe(true);
  } finally {
    await close();
  }
});

test('the shapes seen while the embedded server is killed and restarted', () => {
  const seen = [
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
    Object.assign(new Error('terminating connection due to unexpected postmaster exit'), { code: '57P01', severity: 'FATAL' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    // Prisma's raw-query failure keeps the SQLSTATE in meta.
    Object.assign(new Error('Raw query failed. Code: `57P03`. Message: `the database system is not yet accepting connections`'), {
      code: 'P2010',
      meta: { code: '57P03', message: 'the database system is not yet accepting connections' },
    }),
    // The driver adapter's error, as the cause of Prisma's.
    Object.assign(new Error('the database system is not yet accepting connections'), {
      name: 'DriverAdapterError',
      cause: { originalCode: '57P03', kind: 'postgres', code: '57P03' },
    }),
    new Error('x', { cause: { kind: 'TooManyConnections', cause: 'sorry, too many clients already' } }),
    Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], ''), {}),
  ];
  for (const error of seen) expect(isDatabaseUnavailable(error), String(error)).toBe(true);
});

test('errors of the request itself are not "unavailable"', () => {
  const theirs = [
    Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
    Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' }),
    Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }),
    new Error('context ctx_1 not found'),
    null,
    'a string',
  ];
  for (const error of theirs) expect(isDatabaseUnavailable(error), String(error)).toBe(false);
});
