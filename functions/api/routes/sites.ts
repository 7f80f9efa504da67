import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { Slug } from '../../../schemas/common.ts';
import { actorOf } from '../../audit/append.ts';
import { regions, sites } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { insertAudited } from '../insert-audited.ts';
import { seesRegion, seesSite } from '../scope.ts';
import { validate } from '../validate.ts';
import { DisplayName } from './regions.ts';

const CreateSite = z.object({ id: Slug, regionId: Slug, name: DisplayName }).strict();

export function siteRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .post('/sites', guard('admin', 'coordinator'), validate('json', CreateSite), async (c) => {
      const p = c.get('principal');
      const body = c.req.valid('json');
      const region = await deps.db.query.regions.findFirst({ where: eq(regions.id, body.regionId) });
      if (!region || !seesRegion(p, region.id)) throw notFound('region');
      const row = await insertAudited(
        deps,
        sites,
        { ...body, createdAt: deps.clock.now() },
        { actor: actorOf(p), action: 'site.created', target: body.id, detail: { regionId: body.regionId } },
      );
      // Site ids are one namespace across regions, so that an id is taken cannot be hidden; the answer is the
      // same whether or not the caller can see the site holding it, and tells nothing of that site (not that it
      // "exists", nor its region or name).
      if (!row)
        throw new ApiError(409, 'site-id-unavailable', 'That site id cannot be used; choose another.');
      return c.json(siteView(row), 201);
    })
    .get('/sites', guard('admin', 'coordinator'), async (c) => {
      const p = c.get('principal');
      const rows = await deps.db.select().from(sites).orderBy(sites.id);
      return c.json({ sites: rows.filter((s) => seesSite(p, s)).map(siteView) });
    });
}

function siteView(s: typeof sites.$inferSelect) {
  return { id: s.id, regionId: s.regionId, name: s.name, createdAt: s.createdAt.toISOString() };
}
