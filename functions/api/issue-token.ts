import type { Database } from '../db/database.ts';
import { apiTokens, type TokenRole } from '../db/schema.ts';
import { hashSecret, newId, newSecret } from '../secrets.ts';

export interface IssuedToken {
  id: string;
  /** The plaintext: returned once, never stored. */
  token: string;
  role: TokenRole;
  expiresAt: Date | null;
}

type TokenRequest = {
  role: TokenRole;
  label: string;
  vendorId?: string | null;
  regionIds?: string[] | null;
  siteId?: string | null;
  personId?: string | null;
  ttlHours?: number | null;
};

/**
 * Mints an API token: the plaintext for the caller and the row that stores only its hash. The row is for the
 * caller to insert, so it can go into the same transaction as the audit entry that records it.
 */
export function mintApiToken(
  now: Date,
  t: TokenRequest,
): { issued: IssuedToken; row: typeof apiTokens.$inferInsert } {
  const id = newId('tok');
  const token = newSecret('api');
  const expiresAt = t.ttlHours ? new Date(now.getTime() + t.ttlHours * 3_600_000) : null;
  return {
    issued: { id, token, role: t.role, expiresAt },
    row: {
      id,
      tokenHash: hashSecret(token),
      role: t.role,
      vendorId: t.vendorId ?? null,
      regionIds: t.regionIds ?? null,
      siteId: t.siteId ?? null,
      personId: t.personId ?? null,
      label: t.label,
      createdAt: now,
      expiresAt,
    },
  };
}

/** Mints an API token and stores its hash. Used by enrollment, the first start and the test fixtures. */
export async function issueApiToken(db: Database, now: Date, t: TokenRequest): Promise<IssuedToken> {
  const { issued, row } = mintApiToken(now, t);
  await db.insert(apiTokens).values(row);
  return issued;
}
