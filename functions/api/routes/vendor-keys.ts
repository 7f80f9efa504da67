import { and, eq, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { importRawPublicKey } from '../../../crypto/ed25519.ts';
import { Slug } from '../../../schemas/common.ts';
import { Ed25519PublicKey, VendorKeyId, vendorKeyId } from '../../../schemas/model-signature.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { vendorKeys, vendors } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv, Principal } from '../env.ts';
import { insertAudited } from '../insert-audited.ts';
import { validate } from '../validate.ts';

const VendorParam = z.object({ id: Slug });
const RegisterKey = z.object({ publicKey: Ed25519PublicKey }).strict();

/**
 * Vendors' model-signing keys. A vendor registers its first key itself (an admin may do it for it, and only an
 * admin adds more); from then on the cloud refuses that vendor's unsigned submissions, even after its keys are
 * revoked. Other vendors get 404: they learn nothing, not even that the
 * vendor exists.
 */
export function vendorKeyRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);

  async function ownVendor(p: Principal, id: string, readers: readonly string[] = ['admin']) {
    const allowed = readers.includes(p.role) || (p.role === 'vendor' && p.vendorId === id);
    const vendor = allowed ? await deps.db.query.vendors.findFirst({ where: eq(vendors.id, id) }) : undefined;
    if (!vendor) throw notFound('vendor');
    return vendor;
  }

  return new Hono<AppEnv>()
    .post(
      '/vendors/:id/keys',
      guard('admin', 'vendor'),
      validate('param', VendorParam),
      // Another vendor learns nothing from the shape of its body: the path is checked before the body is.
      async (c, next) => {
        await ownVendor(c.get('principal'), c.req.valid('param').id);
        await next();
      },
      validate('json', RegisterKey),
      async (c) => {
        const p = c.get('principal');
        const vendor = await ownVendor(p, c.req.valid('param').id);
        const { publicKey } = c.req.valid('json');
        // A vendor token registers the vendor's first key only. Were it allowed to add keys later, a stolen
        // vendor token could register its own key and sign whatever it liked, which is exactly what
        // signatures are meant to stop; further keys are an admin's decision.
        if (p.role === 'vendor') {
          const existing = await deps.db.query.vendorKeys.findFirst({
            where: eq(vendorKeys.vendorId, vendor.id),
            columns: { keyId: true },
          });
          if (existing)
            throw new ApiError(
              403,
              'forbidden',
              'This vendor already has a signing key; ask an admin to register another one.',
            );
        }
        if (!importRawPublicKey(publicKey))
          throw new ApiError(
            400,
            'invalid-public-key',
            'publicKey must be base64 of a 32-byte Ed25519 public key.',
          );
        const keyId = vendorKeyId(publicKey);
        const row = await insertAudited(
          deps,
          vendorKeys,
          { keyId, vendorId: vendor.id, publicKey, createdAt: deps.clock.now() },
          { actor: actorOf(p), action: 'vendor-key.registered', target: vendor.id, detail: { keyId } },
        );
        if (!row) throw new ApiError(409, 'vendor-key-exists', 'That public key is already registered.');
        return c.json(vendorKeyView(row), 201);
      },
    )
    .get(
      '/vendors/:id/keys',
      guard('admin', 'coordinator', 'vendor'),
      validate('param', VendorParam),
      async (c) => {
        const vendor = await ownVendor(c.get('principal'), c.req.valid('param').id, ['admin', 'coordinator']);
        const rows = await deps.db
          .select()
          .from(vendorKeys)
          .where(eq(vendorKeys.vendorId, vendor.id))
          .orderBy(vendorKeys.createdAt, vendorKeys.keyId);
        return c.json({ keys: rows.map(vendorKeyView) });
      },
    )
    .post(
      '/vendors/:id/keys/:keyId/revoke',
      guard('admin', 'vendor'),
      validate('param', z.object({ id: Slug, keyId: VendorKeyId })),
      async (c) => {
        const p = c.get('principal');
        const { id, keyId } = c.req.valid('param');
        const vendor = await ownVendor(p, id);
        const key = await deps.db.query.vendorKeys.findFirst({
          where: and(eq(vendorKeys.keyId, keyId), eq(vendorKeys.vendorId, vendor.id)),
        });
        if (!key) throw notFound('key');
        const now = deps.clock.now();
        const {
          results: [[changed]],
        } = await commitAudited(
          deps,
          () =>
            [
              deps.db
                .update(vendorKeys)
                .set({ revokedAt: now })
                .where(and(eq(vendorKeys.keyId, keyId), isNull(vendorKeys.revokedAt)))
                .returning(),
            ] as const,
          { actor: actorOf(p), action: 'vendor-key.revoked', target: vendor.id, detail: { keyId } },
        );
        // Not changed here: revoked already, perhaps by a request racing this one; answer with what is stored.
        const stored =
          changed ?? (await deps.db.query.vendorKeys.findFirst({ where: eq(vendorKeys.keyId, keyId) }));
        return c.json(vendorKeyView(stored ?? key));
      },
    );
}

function vendorKeyView(k: typeof vendorKeys.$inferSelect) {
  return {
    keyId: k.keyId,
    vendorId: k.vendorId,
    publicKey: k.publicKey,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
