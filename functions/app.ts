import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { accessLog } from './api/access-log.ts';
import type { AppEnv } from './api/env.ts';
import { onApiError, onNotFound } from './api/on-error.ts';
import { campaignRoutes } from './api/routes/campaigns.ts';
import { comparisonRoutes } from './api/routes/comparison.ts';
import { enrollmentRoutes } from './api/routes/enrollment.ts';
import { healthRoutes } from './api/routes/health.ts';
import { jobRoutes } from './api/routes/jobs.ts';
import { modelRoutes } from './api/routes/models.ts';
import { regionRoutes } from './api/routes/regions.ts';
import { reportRoutes } from './api/routes/reports.ts';
import { siteRoutes } from './api/routes/sites.ts';
import { tokenRoutes } from './api/routes/tokens.ts';
import { vendorRoutes } from './api/routes/vendors.ts';
import { type CloudDeps, limitsOf } from './deps.ts';
import { ApiError } from './errors.ts';

/** The cloud API as one hono app: pure over its dependencies, wrapped by serve.ts (node) and lambda.ts. */
export function createCloudApp(deps: CloudDeps) {
  const limits = limitsOf(deps);
  const jsonLimit = bodyLimit({
    maxSize: limits.jsonBytes,
    onError: () => {
      throw new ApiError(413, 'body-too-large', `Request bodies are limited to ${limits.jsonBytes} bytes.`);
    },
  });
  const isModelUpload = (method: string, path: string) => method === 'POST' && path === '/v1/models';

  const v1 = new Hono<AppEnv>()
    .route('/', healthRoutes())
    .route('/', enrollmentRoutes(deps))
    .route('/', regionRoutes(deps))
    .route('/', siteRoutes(deps))
    .route('/', vendorRoutes(deps))
    .route('/', tokenRoutes(deps))
    .route('/', modelRoutes(deps))
    .route('/', campaignRoutes(deps))
    .route('/', comparisonRoutes(deps))
    .route('/', jobRoutes(deps))
    .route('/', reportRoutes(deps));

  return (
    new Hono<AppEnv>()
      .use('*', accessLog(deps.log, deps.clock))
      // Every body is JSON and small, except a model upload, which has its own, larger limit (routes/models.ts).
      .use('*', (c, next) => (isModelUpload(c.req.method, c.req.path) ? next() : jsonLimit(c, next)))
      .route('/v1', v1)
      .notFound(onNotFound)
      .onError(onApiError)
  );
}

export type CloudApp = ReturnType<typeof createCloudApp>;
