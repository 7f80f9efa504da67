import { Hono } from 'hono';
import { z } from 'zod';
import { Id, Slug } from '../../../schemas/common.ts';
import { PersonAction, RolloutActionBody } from '../../../schemas/rollout.ts';
import type { CloudDeps } from '../../deps.ts';
import { decideRollout } from '../../rollouts/decide.ts';
import { expireApprovals } from '../../rollouts/lifecycle.ts';
import { listRollouts, showRollout } from '../../rollouts/views.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { validate } from '../validate.ts';

const Key = z.object({ modelId: Id, regionId: Slug });

/**
 * Rollouts per (model version, region): everyone reads what their scope covers (a site: its region, which is
 * how agents learn the states on each poll); coordinators and admins decide (functions/rollouts/decide.ts).
 */
export function rolloutRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  const anyone = guard('admin', 'coordinator', 'vendor', 'site');
  return new Hono<AppEnv>()
    .get('/rollouts', anyone, validate('query', Key.partial()), async (c) => {
      await expireApprovals(deps);
      return c.json({ rollouts: await listRollouts(deps, c.get('principal'), c.req.valid('query')) });
    })
    .get('/rollouts/:modelId/:regionId', anyone, validate('param', Key), async (c) => {
      await expireApprovals(deps);
      return c.json(await showRollout(deps, c.get('principal'), c.req.valid('param')));
    })
    .post(
      '/rollouts/:modelId/:regionId/:action',
      anyone,
      validate('param', Key.extend({ action: PersonAction })),
      validate('json', RolloutActionBody),
      async (c) => {
        const { action, ...key } = c.req.valid('param');
        const p = c.get('principal');
        await decideRollout(deps, p, key, action, c.req.valid('json'));
        return c.json(await showRollout(deps, p, key));
      },
    );
}
