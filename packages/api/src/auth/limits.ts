import type pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors.ts';

/** rate-limiter-flexible's table, created by the identity migration (shared by every instance). */
const TABLE = 'rate_limits';

/**
 * A per-key budget per window, counted in PostgreSQL so every instance on the
 * database shares it. Over budget: TOO_MANY_REQUESTS / RATE_LIMITED with
 * retryAfterMs (the HTTP handler adds Retry-After). A database error is thrown
 * as is (the procedure maps it to SERVICE_BUSY).
 */
export class SharedLimit {
  private readonly limiter: RateLimiterPostgres;

  constructor(
    pool: pg.Pool,
    keyPrefix: string,
    points: number,
    durationSec: number,
    private readonly what: string,
  ) {
    this.limiter = new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', tableName: TABLE, tableCreated: true, keyPrefix, points, duration: durationSec });
  }

  async consume(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const retryAfterMs = Math.max(1, Math.ceil(error.msBeforeNext));
      throw new AppError('TOO_MANY_REQUESTS', 'RATE_LIMITED', `Too many ${this.what}: try again in ${Math.ceil(retryAfterMs / 1000)} s.`, { retryAfterMs });
    }
  }
}
