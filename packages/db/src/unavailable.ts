/**
 * Whether an error means "the database cannot serve us right now" (outage,
 * restart, full pool, connection dropped), as opposed to a bad query or a
 * rule broken by the request. Such errors are the server's problem: the API
 * answers SERVICE_BUSY (retriable) instead of a 500, and never quotes them.
 */
const SQLSTATE_CLASSES = ['08', '53', '57P', '55P03']; // connection exception, insufficient resources, operator intervention
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
/** Prisma driver-adapter error kinds. */
const KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /Connection terminated unexpectedly/i,
  /Can't reach database server/i,
  /Unable to start a transaction in the given time/i,
  /Client has encountered a connection error/i,
  /Cannot use a pool after calling end/i,
  /the database system is (starting up|shutting down|in recovery mode|not yet accepting connections|not accepting connections)/i,
  /terminating connection due to (administrator command|unexpected postmaster exit)/i,
  /terminating connection because of crash of another server process/i,
  /Connection terminated due to connection timeout/i,
  /Query read timeout/i,
  /Client was closed and is not queryable/i,
];

export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (PRISMA_CODES.has(code) || NODE_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && SQLSTATE_CLASSES.some((c) => code.startsWith(c))) return true;
    }
    const originalCode = (e as { originalCode?: unknown }).originalCode;
    if (typeof originalCode === 'string' && SQLSTATE_CLASSES.some((c) => originalCode.startsWith(c))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && MESSAGES.some((m) => m.test(message))) return true;
    const kind = (e as { kind?: unknown }).kind;
    if (typeof kind === 'string' && KINDS.has(kind)) return true;
    // Prisma's raw-query failure (P2010) keeps the server's SQLSTATE in meta.code.
    const metaCode = (e as { meta?: { code?: unknown } }).meta?.code;
    if (typeof metaCode === 'string' && SQLSTATE_CLASSES.some((c) => metaCode.startsWith(c))) return true;
    // net's happy-eyeballs connect fails with an AggregateError of each address's error.
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some((inner) => !seen.has(inner) && isDatabaseUnavailable(inner))) return true;
  }
  return false;
}
