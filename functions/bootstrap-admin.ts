import { readFile, writeFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { issueApiToken } from './api/issue-token.ts';
import { type AuditDeps, appendAudit } from './audit/append.ts';
import { sha256Hex } from './audit/hashes.ts';
import type { Database } from './db/database.ts';
import { apiTokens } from './db/schema.ts';
import { hashSecret } from './secrets.ts';

/**
 * On the first start of an empty cloud, mints an admin token and writes it to `path` (mode 0600) for the
 * operator to read — it is never printed or logged. Later starts find an admin and do nothing, so the file
 * stays valid across restarts. Returns whether a token was written.
 */
export async function bootstrapAdminToken(
  db: Database,
  now: Date,
  path: string,
  audit?: AuditDeps,
): Promise<boolean> {
  const admin = await db.query.apiTokens.findFirst({
    where: eq(apiTokens.role, 'admin'),
    columns: { id: true },
  });
  if (admin) return false;
  const issued = await issueApiToken(db, now, { role: 'admin', label: 'first admin (admin-token file)' });
  try {
    // 'wx': two processes starting on one fresh folder must not overwrite each other's token.
    await writeFile(path, `${issued.token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    await db.delete(apiTokens).where(eq(apiTokens.tokenHash, hashSecret(issued.token)));
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process starting on the same fresh folder wrote it (fine), or the file outlived its database
    // (a replaced cairn.db): then nobody could administer this cloud, so say so instead of starting.
    const existing = (await readFile(path, 'utf8')).trim();
    const known = await db.query.apiTokens.findFirst({
      where: eq(apiTokens.tokenHash, hashSecret(existing)),
      columns: { id: true },
    });
    if (!known)
      throw new Error(
        `${path} holds a token this database does not know (was cairn.db replaced?); move the file away to mint a new admin token`,
      );
    return false;
  }
  if (audit)
    await appendAudit(audit, {
      actor: 'system',
      action: 'token.issued',
      target: issued.id,
      detail: {
        role: 'admin',
        vendorId: null,
        regionIds: null,
        expiresAt: null,
        credentialSha256: sha256Hex(hashSecret(issued.token)),
      },
    });
  return true;
}
