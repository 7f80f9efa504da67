import { Hono } from 'hono';
import { z } from 'zod';
import { Slug } from '../../../schemas/common.ts';
import { actorOf, commitAudited } from '../../audit/append.ts';
import { vendors } from '../../db/schema.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError } from '../../errors.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { validate } from '../validate.ts';
import { DisplayName } from './regions.ts';

const CreateVendor = z.object({ id: Slug, name: DisplayName }).strict();

export function vendorRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  return new Hono<AppEnv>()
    .post('/vendors', guard('admin'), validate('json', CreateVendor), async (c) => {
      const body = c.req.valid('json');
      const {
        results: [[row]],
      } = await commitAudited(
        deps,
        () =>
          [
            deps.db
              .insert(vendors)
              .values({ ...body, createdAt: deps.clock.now() })
              .onConflictDoNothing()
              .returning(),
          ] as const,
        { actor: actorOf(c.get('principal')), action: 'vendor.created', target: body.id },
      );
      if (!row) throw new ApiError(409, 'vendor-exists', 'A vendor with that id already exists.');
      return c.json(vendorView(row), 201);
    })
    .get('/vendors', guard('admin', 'coordinator'), async (c) => {
      const rows = await deps.db.select().from(vendors).orderBy(vendors.id);
      return c.json({ vendors: rows.map(vendorView) });
    });
}

function vendorView(v: typeof vendors.$inferSelect) {
  return { id: v.id, name: v.name, createdAt: v.createdAt.toISOString() };
}
