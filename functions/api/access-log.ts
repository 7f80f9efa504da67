import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Clock } from '../../infra/clock.ts';
import type { OperationalLog } from '../../infra/operational-log.ts';
import type { AppEnv } from './env.ts';

/**
 * One operational-log entry per request: method, route *pattern*, status, duration, error code. The pattern
 * (`/v1/models/:id`) rather than the path keeps ids and query values out of the log.
 */
export function accessLog(log: OperationalLog, clock: Clock): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const started = performance.now();
    await next();
    const route = c.get('errorCode') === 'route-not-found' ? '(no route)' : routePath(c, -1);
    const code = c.get('errorCode');
    log.write({
      time: clock.now().toISOString(),
      event: 'request',
      method: c.req.method,
      route,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...(code ? { code } : {}),
    });
  };
}
