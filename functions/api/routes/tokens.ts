import { and, eq, inArray, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { Id, Slug } from '../../../schemas/common.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { sha256Hex } from '../../audit/hashes.ts';
import { apiTokens, regions, vendors } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { mintApiToken } from '../issue-token.ts';
import { validate } from '../validate.ts';

const MAX_TTL_HOURS = 24 * 366;

/** Site tokens are not issued here: a site gets its token by enrolling with its key. */
const CreateToken = z
  .object({
    role: z.enum(['coordinator', 'vendor', 'admin']),
    vendorId: Slug.optional(),
    regionIds: z.array(Slug).min(1).max(200).optional(),
    /** Who holds it: four eyes on rollouts count people, so two tokens of one person are one pair of eyes. */
    personId: Slug.optional(),
    label: z.string().trim().min(1).max(200),
    ttlHours: z.number().int().min(1).max(MAX_TTL_HOURS).optional(),
  })
  .strict()
  .refine((t) => (t.role === 'vendor') === (t.vendorId !== undefined), {
    message: 'a vendor token needs vendorId, and only a vendor token has one',
    path: ['vendorId'],
  })
  .refine((t) => t.role === 'coordinator' || t.regionIds === undefined, {
    message: 'only a coordinator token is scoped to regions',
    path: ['regionIds'],
  })
  .refine((t) => t.role !== 'vendor' || t.personId === undefined, {
    message: 'only a coordinator or admin token names a person',
    path: ['personId'],
  });

export function tokenRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .post('/tokens', guard('admin'), validate('json', CreateToken), async (c) => {
      const body = c.req.valid('json');
      if (body.vendorId) {
        const vendor = await deps.db.query.vendors.findFirst({ where: eq(vendors.id, body.vendorId) });
        if (!vendor) throw notFound('vendor');
      }
      const regionIds = body.regionIds ? [...new Set(body.regionIds)].sort() : null;
      if (regionIds) {
        const found = await deps.db
          .select({ id: regions.id })
          .from(regions)
          .where(inArray(regions.id, regionIds));
        if (found.length !== regionIds.length) throw notFound('region');
      }
      const { issued, row } = mintApiToken(deps.clock.now(), { ...body, regionIds });
      await commitAudited(deps, () => [deps.db.insert(apiTokens).values(row)] as const, {
        actor: actorOf(c.get('principal')),
        action: 'token.issued',
        target: issued.id,
        detail: {
          role: issued.role,
          vendorId: body.vendorId ?? null,
          regionIds,
          personId: body.personId ?? null,
          expiresAt: issued.expiresAt?.toISOString() ?? null,
          credentialSha256: sha256Hex(row.tokenHash),
        },
      });
      return c.json(
        {
          id: issued.id,
          token: issued.token,
          role: issued.role,
          personId: body.personId ?? null,
          expiresAt: issued.expiresAt?.toISOString() ?? null,
        },
        201,
      );
    })
    .get('/tokens', guard('admin'), async (c) => {
      const rows = await deps.db.select().from(apiTokens).orderBy(apiTokens.createdAt, apiTokens.id);
      return c.json({ tokens: rows.map(tokenView) });
    })
    .post('/tokens/:id/revoke', guard('admin'), validate('param', z.object({ id: Id })), async (c) => {
      const { id } = c.req.valid('param');
      const row = await deps.db.query.apiTokens.findFirst({ where: eq(apiTokens.id, id) });
      if (!row) throw notFound('token');
      if (row.id === c.get('principal').tokenId)
        throw new ApiError(409, 'own-token', 'A token cannot revoke itself; use another admin token.');
      let revokedAt = row.revokedAt ?? deps.clock.now();
      if (!row.revokedAt) {
        const { audited } = await commitAudited(
          deps,
          () =>
            [
              deps.db
                .update(apiTokens)
                .set({ revokedAt })
                .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt))),
            ] as const,
          {
            actor: actorOf(c.get('principal')),
            action: 'token.revoked',
            target: id,
            detail: { role: row.role },
          },
        );
        // Another request revoked it first: answer with the time that was stored.
        if (!audited)
          revokedAt =
            (await deps.db.query.apiTokens.findFirst({ where: eq(apiTokens.id, id) }))?.revokedAt ??
            revokedAt;
      }
      return c.json({ id, revokedAt: revokedAt.toISOString() });
    });
}

/** A token as listed: its id, role, scope and lifetime — never its hash. */
function tokenView(t: typeof apiTokens.$inferSelect) {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: t.id,
    role: t.role,
    vendorId: t.vendorId,
    regionIds: t.regionIds,
    siteId: t.siteId,
    personId: t.personId,
    label: t.label,
    createdAt: t.createdAt.toISOString(),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    lastUsedAt: iso(t.lastUsedAt),
  };
}
