import { and, eq, gt, isNull, ne, notInArray, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { importRawPublicKey } from '../../../crypto/ed25519.ts';
import { SemVer, Slug } from '../../../schemas/common.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { sha256Hex } from '../../audit/hashes.ts';
import { apiTokens, enrollmentTokens, siteKeys, sites } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { hashSecret, newId, newSecret } from '../../secrets.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { mintApiToken } from '../issue-token.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

const CreateEnrollmentToken = z
  .object({
    ttlHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(24),
  })
  .strict();

const Enroll = z
  .object({
    token: z.string().min(1).max(200),
    publicKey: z.string().min(1).max(100),
    agentVersion: SemVer,
  })
  .strict();

export function enrollmentRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return (
    new Hono<AppEnv>()
      .post(
        '/sites/:siteId/enrollment-tokens',
        guard('admin', 'coordinator'),
        validate('param', z.object({ siteId: Slug })),
        validate('json', CreateEnrollmentToken),
        async (c) => {
          const { siteId } = c.req.valid('param');
          const site = await deps.db.query.sites.findFirst({ where: eq(sites.id, siteId) });
          if (!site || !seesSite(c.get('principal'), site)) throw notFound('site');
          const now = deps.clock.now();
          const token = newSecret('enroll');
          const expiresAt = new Date(now.getTime() + c.req.valid('json').ttlHours * 3_600_000);
          const id = newId('enr');
          await commitAudited(
            deps,
            () =>
              [
                deps.db
                  .insert(enrollmentTokens)
                  .values({ id, tokenHash: hashSecret(token), siteId, createdAt: now, expiresAt }),
              ] as const,
            {
              actor: actorOf(c.get('principal')),
              action: 'enrollment-token.issued',
              target: id,
              detail: { siteId, expiresAt: expiresAt.toISOString() },
            },
          );
          return c.json({ token, siteId, expiresAt: expiresAt.toISOString() }, 201);
        },
      )
      // No bearer token here: the one-time enrollment token in the body is the credential.
      .post('/enroll', validate('json', Enroll), async (c) => {
        const body = c.req.valid('json');
        // Check the key before spending the token, so a typo does not burn a one-time credential.
        if (!importRawPublicKey(body.publicKey))
          throw new ApiError(
            400,
            'invalid-public-key',
            'publicKey must be base64 of a 32-byte Ed25519 public key.',
          );
        const now = deps.clock.now();
        const tokenHash = hashSecret(body.token);
        const claim = await deps.db.query.enrollmentTokens.findFirst({
          where: eq(enrollmentTokens.tokenHash, tokenHash),
        });
        const unusable = unusableReason(claim, now);
        if (unusable || !claim) throw unusable;
        const site = await deps.db.query.sites.findFirst({ where: eq(sites.id, claim.siteId) });
        if (!site) throw notFound('site');
        const keyId = newId('key');
        const { issued, row: tokenRow } = mintApiToken(now, {
          role: 'site',
          siteId: site.id,
          label: `site ${site.id}`,
        });
        // Every step below runs only if this request's claim of the one-time token succeeded, which the new
        // key's existence proves: of two concurrent enrollments with one token, one enrolls and one changes
        // nothing. One batch is one transaction, so an enrollment is never half done.
        const claimed = sql`exists (select 1 from ${siteKeys} where ${siteKeys.keyId} = ${keyId})`;
        for (let attempt = 1; ; attempt++) {
          // The entry names the keys this enrollment supersedes, read here; the claim holds only if they are still
          // exactly the site's current keys, so a key added or revoked meanwhile cannot be revoked unrecorded.
          const superseded = await deps.db
            .select({ keyId: siteKeys.keyId })
            .from(siteKeys)
            .where(and(eq(siteKeys.siteId, site.id), isNull(siteKeys.revokedAt)));
          const current = and(eq(siteKeys.siteId, site.id), isNull(siteKeys.revokedAt));
          const unchanged = sql`(select count(*) from ${siteKeys} where ${current}) = ${superseded.length}
            and not exists (select 1 from ${siteKeys} where ${and(
              current,
              superseded.length
                ? notInArray(
                    siteKeys.keyId,
                    superseded.map((k) => k.keyId),
                  )
                : undefined,
            )})`;
          const { audited } = await commitAudited(
            deps,
            () =>
              [
                deps.db
                  .update(enrollmentTokens)
                  .set({ usedAt: now })
                  .where(
                    and(
                      eq(enrollmentTokens.id, claim.id),
                      isNull(enrollmentTokens.usedAt),
                      gt(enrollmentTokens.expiresAt, now),
                      unchanged,
                    ),
                  ),
                deps.db.run(sql`insert into ${siteKeys} (key_id, site_id, public_key, agent_version, created_at)
                  select ${keyId}, ${site.id}, ${body.publicKey}, ${body.agentVersion}, ${now.getTime()}
                  where changes() = 1`),
                deps.db.run(sql`insert into ${apiTokens} (id, token_hash, role, site_id, label, created_at)
                  select ${tokenRow.id}, ${tokenRow.tokenHash}, 'site', ${site.id}, ${tokenRow.label}, ${now.getTime()}
                  where ${claimed}`),
                // A site has one current agent: enrolling again replaces the earlier agent's key and site token,
                // as a rotation would (reports the API already accepted from it still finish ingest).
                deps.db
                  .update(siteKeys)
                  .set({ revokedAt: now, revokedReason: 'rotated' })
                  .where(
                    and(
                      eq(siteKeys.siteId, site.id),
                      ne(siteKeys.keyId, keyId),
                      isNull(siteKeys.revokedAt),
                      claimed,
                    ),
                  ),
                deps.db
                  .update(apiTokens)
                  .set({ revokedAt: now })
                  .where(
                    and(
                      eq(apiTokens.role, 'site'),
                      eq(apiTokens.siteId, site.id),
                      ne(apiTokens.id, issued.id),
                      isNull(apiTokens.revokedAt),
                      claimed,
                    ),
                  ),
              ] as const,
            {
              actor: `enrollment:${claim.id}`,
              action: 'site.enrolled',
              target: site.id,
              detail: {
                keyId,
                publicKeySha256: sha256Hex(body.publicKey),
                tokenId: issued.id,
                credentialSha256: sha256Hex(tokenRow.tokenHash),
                agentVersion: body.agentVersion,
                supersededKeyIds: superseded.map((k) => k.keyId),
              },
            },
            { when: claimed },
          );
          if (audited) break;
          // Not enrolled: the token was spent or expired meanwhile, or the site's keys changed after they were read.
          const why = await whyUnusable(deps, tokenHash, now);
          if (why) throw why;
          if (attempt >= 10)
            throw new ApiError(
              503,
              'enrollment-busy',
              'The site is being changed by other requests; try again.',
            );
        }
        return c.json({ siteId: site.id, regionId: site.regionId, keyId, apiToken: issued.token }, 201);
      })
  );
}

/** Why the token cannot enroll a site now (read again); null while it still can. */
async function whyUnusable(deps: CloudDeps, tokenHash: string, now: Date): Promise<ApiError | null> {
  const row = await deps.db.query.enrollmentTokens.findFirst({
    where: eq(enrollmentTokens.tokenHash, tokenHash),
  });
  return unusableReason(row, now);
}

function unusableReason(row: typeof enrollmentTokens.$inferSelect | undefined, now: Date): ApiError | null {
  if (!row) return new ApiError(401, 'enrollment-token-invalid', 'The enrollment token is not known.');
  if (row.usedAt)
    return new ApiError(
      401,
      'enrollment-token-used',
      'The enrollment token has already been used; ask for a new one.',
    );
  if (row.expiresAt <= now)
    return new ApiError(
      401,
      'enrollment-token-expired',
      'The enrollment token has expired; ask for a new one.',
    );
  return null;
}
