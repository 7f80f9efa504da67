import type { Database } from '../../infra/database.ts';
import { apiTokens, type TokenRole } from '../db/schema.ts';
import { hashSecret, newId, newSecret } from '../secrets.ts';

export interface IssuedToken {
  id: string;
  /** The plaintext: returned once, never stored. */
  token: string;
  role: TokenRole;
  expiresAt: Date | null;
}

/** Mints an API token and stores its hash. Used by POST /v1/tokens, enrollment and the first start. */
export async function issueApiToken(
  db: Database,
  now: Date,
  t: {
    role: TokenRole;
    label: string;
    vendorId?: string | null;
    regionIds?: string[] | null;
    siteId?: string | null;
    ttlHours?: number | null;
  },
): Promise<IssuedToken> {
  const id = newId('tok');
  const token = newSecret('api');
  const expiresAt = t.ttlHours ? new Date(now.getTime() + t.ttlHours * 3_600_000) : null;
  await db.insert(apiTokens).values({
    id,
    tokenHash: hashSecret(token),
    role: t.role,
    vendorId: t.vendorId ?? null,
    regionIds: t.regionIds ?? null,
    siteId: t.siteId ?? null,
    label: t.label,
    createdAt: now,
    expiresAt,
  });
  return { id, token, role: t.role, expiresAt };
}
