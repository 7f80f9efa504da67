import { and, eq, isNull, ne, or, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { importRawPublicKey, verifyEd25519 } from '../../../crypto/ed25519.ts';
import { Id, Slug } from '../../../schemas/common.ts';
import { KeyRotationRequest, keyRotationSigningInput } from '../../../schemas/key-rotation.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { sha256Hex } from '../../audit/hashes.ts';
import { nonces, siteKeys, sites } from '../../db/schema.ts';
import { type CloudDeps, limitsOf } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { newId } from '../../secrets.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv, Principal } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

const SiteParam = z.object({ id: Slug });

/**
 * A site's signing keys: the site rotates its own key (signed by the old one), a coordinator of its region
 * revokes one. A site has one current key; a rotated key only finishes the reports accepted while it was
 * current; a revoked key is refused everywhere, ingest included.
 */
export function siteKeyRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);

  async function visibleSite(p: Principal, id: string) {
    const site = await deps.db.query.sites.findFirst({ where: eq(sites.id, id) });
    if (!site || !seesSite(p, site)) throw notFound('site');
    return site;
  }

  return new Hono<AppEnv>()
    .get(
      '/sites/:id/keys',
      guard('admin', 'coordinator', 'site'),
      validate('param', SiteParam),
      async (c) => {
        const site = await visibleSite(c.get('principal'), c.req.valid('param').id);
        const rows = await deps.db
          .select()
          .from(siteKeys)
          .where(eq(siteKeys.siteId, site.id))
          .orderBy(siteKeys.createdAt, siteKeys.keyId);
        return c.json({
          keys: rows.map((k) => ({
            keyId: k.keyId,
            publicKey: k.publicKey,
            createdAt: k.createdAt.toISOString(),
            revokedAt: k.revokedAt?.toISOString() ?? null,
            revokedReason: k.revokedReason ?? null,
          })),
        });
      },
    )
    .post(
      '/sites/:id/keys/rotate',
      guard('site'),
      validate('param', SiteParam),
      // Another site learns nothing from the shape of its body: the path is checked before the body is.
      async (c, next) => {
        await visibleSite(c.get('principal'), c.req.valid('param').id);
        await next();
      },
      validate('json', KeyRotationRequest),
      async (c) => {
        const p = c.get('principal');
        const site = await visibleSite(p, c.req.valid('param').id);
        const body = c.req.valid('json');
        if (body.siteId !== site.id)
          throw new ApiError(400, 'site-mismatch', 'The rotation request names another site than the path.');
        const old = await deps.db.query.siteKeys.findFirst({
          where: and(eq(siteKeys.keyId, body.oldKeyId), eq(siteKeys.siteId, site.id)),
        });
        if (!old)
          throw new ApiError(401, 'unknown-key', 'The request is signed with a key this site does not hold.');
        if (old.revokedAt) throw new ApiError(401, 'revoked-key', 'The key to retire is no longer current.');
        const oldKey = importRawPublicKey(old.publicKey);
        const newKey = importRawPublicKey(body.newPublicKey);
        if (!newKey)
          throw new ApiError(
            400,
            'invalid-public-key',
            'newPublicKey must be base64 of a 32-byte Ed25519 public key.',
          );
        const input = keyRotationSigningInput(body);
        const signedBy = (key: typeof oldKey, sig: string) => key !== null && verifyEd25519(input, key, sig);
        if (!signedBy(oldKey, body.oldKeySignature))
          throw new ApiError(401, 'bad-signature', 'The request is not signed by the key it retires.');
        if (!signedBy(newKey, body.newKeySignature))
          throw new ApiError(401, 'bad-new-key-signature', 'The request is not signed by the new key.');
        const now = deps.clock.now();
        const at = Date.parse(body.timestamp);
        if (Math.abs(now.getTime() - at) > limitsOf(deps).clockSkewMs)
          throw new ApiError(400, 'stale-timestamp', "The request was signed too far from the cloud's time.");
        const [fresh] = await deps.db
          .insert(nonces)
          .values({ siteId: site.id, nonce: body.nonce, seenAt: now })
          .onConflictDoNothing()
          .returning({ nonce: nonces.nonce });
        if (!fresh) throw new ApiError(409, 'replayed-nonce', 'This request nonce has been used before.');
        const reused = await deps.db.query.siteKeys.findFirst({
          where: eq(siteKeys.publicKey, body.newPublicKey),
          columns: { keyId: true },
        });
        if (reused)
          throw new ApiError(409, 'key-exists', 'That public key is already registered; make a new one.');

        // One transaction: retire the old key and add the new one only if this request did the retiring, so
        // two rotations signed by the same old key cannot both leave a current key behind.
        // The audit entry joins them: it is written only if the new key was.
        const keyId = newId('key');
        const { audited } = await commitAudited(
          deps,
          () =>
            [
              deps.db.run(sql`UPDATE site_keys SET revoked_at = ${now.getTime()}, revoked_reason = 'rotated'
                WHERE key_id = ${old.keyId} AND site_id = ${site.id} AND revoked_at IS NULL`),
              deps.db.run(sql`INSERT INTO site_keys (key_id, site_id, public_key, agent_version, created_at)
                SELECT ${keyId}, ${site.id}, ${body.newPublicKey}, ${old.agentVersion}, ${now.getTime()}
                WHERE changes() = 1`),
            ] as const,
          {
            actor: actorOf(p),
            action: 'site-key.rotated',
            target: site.id,
            detail: { retiredKeyId: old.keyId, keyId, publicKeySha256: sha256Hex(body.newPublicKey) },
          },
        );
        if (!audited)
          throw new ApiError(409, 'key-already-rotated', 'The key to retire was retired meanwhile.');
        return c.json({ siteId: site.id, keyId, retiredKeyId: old.keyId, rotatedAt: now.toISOString() }, 201);
      },
    )
    .post(
      '/sites/:id/keys/:keyId/revoke',
      guard('admin', 'coordinator'),
      validate('param', z.object({ id: Slug, keyId: Id })),
      async (c) => {
        const p = c.get('principal');
        const { id, keyId } = c.req.valid('param');
        const site = await visibleSite(p, id);
        const key = await deps.db.query.siteKeys.findFirst({
          where: and(eq(siteKeys.keyId, keyId), eq(siteKeys.siteId, site.id)),
        });
        if (!key) throw notFound('key');
        const revokedAt = key.revokedAt ?? deps.clock.now();
        // A rotated key is upgraded to revoked too: reports it signed that still wait in the queue are refused.
        await commitAudited(
          deps,
          () =>
            [
              deps.db
                .update(siteKeys)
                .set({ revokedAt, revokedReason: 'revoked' })
                .where(
                  and(
                    eq(siteKeys.keyId, key.keyId),
                    or(isNull(siteKeys.revokedReason), ne(siteKeys.revokedReason, 'revoked')),
                  ),
                ),
            ] as const,
          { actor: actorOf(p), action: 'site-key.revoked', target: site.id, detail: { keyId: key.keyId } },
        );
        return c.json({ siteId: site.id, keyId: key.keyId, revokedAt: revokedAt.toISOString() });
      },
    );
}
