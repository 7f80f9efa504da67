import { Hono } from 'hono';
import { z } from 'zod';
import { Id, Slug } from '../../../schemas/common.ts';
import { PersonAction, RolloutActionBody } from '../../../schemas/rollout.ts';
import type { CloudDeps } from '../../deps.ts';
import { ApiError } from '../../errors.ts';
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
  return (
    new Hono<AppEnv>()
      .get('/rollouts', anyone, validate('query', Key.partial()), async (c) => {
        await expireApprovals(deps);
        return c.json({ rollouts: await listRollouts(deps, c.get('principal'), c.req.valid('query')) });
      })
      // Under the model, so that every GET route is one id deep (test/privacy-fuzz.test.ts sweeps them by id).
      .get(
        '/models/:id/rollouts',
        anyone,
        validate('param', z.object({ id: Id })),
        validate('query', z.object({ regionId: Slug.optional() }).strict()),
        async (c) => {
          await expireApprovals(deps);
          const { regionId } = c.req.valid('query');
          const p = c.get('principal');
          const views = await listRollouts(deps, p, { modelId: c.req.valid('param').id, regionId });
          if (views.length === 0)
            throw new ApiError(404, 'rollout-not-found', 'No such rollout is visible to this token.');
          return c.json({ rollouts: await Promise.all(views.map((v) => showRollout(deps, p, v))) });
        },
      )
      .post(
        '/rollouts/:modelId/:regionId/:action',
        anyone,
        validate('param', Key.extend({ action: PersonAction })),
        validate('json', RolloutActionBody),
        async (c) => {
          const { action, modelId, regionId } = c.req.valid('param');
          const key = { modelId, regionId };
          const p = c.get('principal');
          await decideRollout(deps, p, key, action, c.req.valid('json'));
          return c.json(await showRollout(deps, p, key));
        },
      )
  );
}
