import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets: `cairn_` + 32 random bytes (base64url). Only their sha256 is stored, so a database leak
 * gives no usable token; the plaintext is shown once, to whoever created it.
 */
export function newSecret(kind: 'api' | 'enroll'): string {
  const prefix = kind === 'api' ? 'cairn_' : 'cairn_enroll_';
  return prefix + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Ids minted by the cloud (schemas/common.ts `Id`): a short type prefix keeps logs readable. */
export function newId(prefix: 'tok' | 'enr' | 'key' | 'mdl' | 'cmp' | 'job' | 'rev'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
