import { Hono } from 'hono';
import { z } from 'zod';
import { Slug } from '../../../schemas/common.ts';
import { actorOf } from '../../audit/append.ts';
import { vendors } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { insertAudited, namedEntryView } from '../insert-audited.ts';
import { validate } from '../validate.ts';
import { DisplayName } from './regions.ts';

const CreateVendor = z.object({ id: Slug, name: DisplayName }).strict();

export function vendorRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .post('/vendors', guard('admin'), validate('json', CreateVendor), async (c) => {
      const body = c.req.valid('json');
      const row = await insertAudited(
        deps,
        vendors,
        { ...body, createdAt: deps.clock.now() },
        { actor: actorOf(c.get('principal')), action: 'vendor.created', target: body.id },
      );
      if (!row) throw new ApiError(409, 'vendor-exists', 'A vendor with that id already exists.');
      return c.json(namedEntryView(row), 201);
    })
    .get('/vendors', guard('admin', 'coordinator'), async (c) => {
      const rows = await deps.db.select().from(vendors).orderBy(vendors.id);
      return c.json({ vendors: rows.map(namedEntryView) });
    });
}
