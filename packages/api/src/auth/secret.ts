import type { PrismaClient } from '@chat/db';
import { randomBytes } from 'node:crypto';

const SECRET_KEY = 'auth.secret';

/**
 * The secret that signs session cookies: AUTH_SECRET when given, else one
 * generated on first start and kept in the database, so every instance on the
 * same database signs and checks with the same one (the first to start wins).
 */
export async function authSecret(prisma: PrismaClient, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  await prisma.appSetting.createMany({ data: [{ key: SECRET_KEY, value: randomBytes(32).toString('base64url') }], skipDuplicates: true });
  const row = await prisma.appSetting.findUniqueOrThrow({ where: { key: SECRET_KEY } });
  return row.value;
}
