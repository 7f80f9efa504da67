import { eq } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { apiTokens, type TokenRole } from '../db/schema.ts';
import type { CloudDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { hashSecret } from '../secrets.ts';
import type { AppEnv, Principal } from './env.ts';

/** The scheme is case-insensitive (RFC 9110 §11.1); what follows it is checked as a token below. */
const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;
const TOKEN_SHAPE = /^cairn_[A-Za-z0-9_-]{20,200}$/;

/** lastUsedAt is a hint for people revoking stale tokens; writing it on every request would only add contention. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Authenticates the bearer token and checks its role. A missing, unknown, expired or revoked token is a 401;
 * a valid token of another role is a 403. Object-level scope (which vendor, regions, site) is checked by the
 * routes, which answer 404 for objects outside it.
 */
export function createGuard(deps: CloudDeps) {
  return function guard(...roles: TokenRole[]): MiddlewareHandler<AppEnv> {
    return async function requireToken(c, next) {
      const principal = await authenticate(deps, c.req.header('authorization'));
      if (!roles.includes(principal.role))
        throw new ApiError(403, 'forbidden', `This route is not open to ${principal.role} tokens.`);
      c.set('principal', principal);
      await next();
    };
  };
}

async function authenticate(deps: CloudDeps, header: string | undefined): Promise<Principal> {
  const match = header ? BEARER.exec(header.trim()) : null;
  if (!match?.[1])
    throw new ApiError(401, 'missing-token', 'Send an API token as "Authorization: Bearer cairn_…".');
  // A token of the wrong shape was sent all the same: it is as unknown as a well-formed one nobody issued.
  const row = TOKEN_SHAPE.test(match[1])
    ? await deps.db.query.apiTokens.findFirst({ where: eq(apiTokens.tokenHash, hashSecret(match[1])) })
    : undefined;
  if (!row) throw new ApiError(401, 'invalid-token', 'The API token is not known.');
  const now = deps.clock.now();
  if (row.revokedAt) throw new ApiError(401, 'revoked-token', 'The API token has been revoked.');
  if (row.expiresAt && row.expiresAt <= now)
    throw new ApiError(401, 'expired-token', 'The API token has expired.');
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await deps.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id));
  }
  return {
    tokenId: row.id,
    role: row.role,
    vendorId: row.vendorId,
    regionIds: row.regionIds ?? null,
    siteId: row.siteId,
    personId: row.personId ?? null,
  };
}
