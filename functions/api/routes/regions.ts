import { Hono } from 'hono';
import { z } from 'zod';
import { Slug } from '../../../schemas/common.ts';
import { actorOf } from '../../audit/append.ts';
import { regions } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { insertAudited, namedEntryView } from '../insert-audited.ts';
import { seesRegion } from '../scope.ts';
import { validate } from '../validate.ts';

export const DisplayName = z.string().trim().min(1).max(200);

const CreateRegion = z.object({ id: Slug, name: DisplayName }).strict();

export function regionRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .post('/regions', guard('admin', 'coordinator'), validate('json', CreateRegion), async (c) => {
      const p = c.get('principal');
      // A coordinator scoped to some regions could not see a region it created; only national ones create.
      if (p.role === 'coordinator' && p.regionIds !== null)
        throw new ApiError(
          403,
          'forbidden',
          'Only an admin or a coordinator for all regions can add regions.',
        );
      const body = c.req.valid('json');
      const row = await insertAudited(
        deps,
        regions,
        { ...body, createdAt: deps.clock.now() },
        { actor: actorOf(p), action: 'region.created', target: body.id },
      );
      if (!row) throw new ApiError(409, 'region-exists', 'A region with that id already exists.');
      return c.json(namedEntryView(row), 201);
    })
    .get('/regions', guard('admin', 'coordinator'), async (c) => {
      const p = c.get('principal');
      const rows = await deps.db.select().from(regions).orderBy(regions.id);
      return c.json({ regions: rows.filter((r) => seesRegion(p, r.id)).map(namedEntryView) });
    });
}
