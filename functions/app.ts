import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { accessLog } from './api/access-log.ts';
import type { AppEnv } from './api/env.ts';
import { onApiError, onNotFound } from './api/on-error.ts';
import { campaignRoutes } from './api/routes/campaigns.ts';
import { comparisonRoutes } from './api/routes/comparison.ts';
import { enrollmentRoutes } from './api/routes/enrollment.ts';
import { evaluationReportRoutes, type SelfFetch } from './api/routes/evaluation-report.ts';
import { healthRoutes } from './api/routes/health.ts';
import { jobRoutes } from './api/routes/jobs.ts';
import { modelRoutes } from './api/routes/models.ts';
import { regionRoutes } from './api/routes/regions.ts';
import { reportRoutes } from './api/routes/reports.ts';
import { rolloutRoutes } from './api/routes/rollouts.ts';
import { siteKeyRoutes } from './api/routes/site-keys.ts';
import { siteRoutes } from './api/routes/sites.ts';
import { tokenRoutes } from './api/routes/tokens.ts';
import { vendorKeyRoutes } from './api/routes/vendor-keys.ts';
import { vendorRoutes } from './api/routes/vendors.ts';
import { type CloudDeps, limitsOf } from './deps.ts';
import { ApiError } from './errors.ts';

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const MULTIPART = /^multipart\/form-data\s*;/i;

/** Whether a request carries a body: by its length when it says, else by whether it has a stream at all. */
function hasBody(req: Request): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const length = req.headers.get('content-length');
  if (length !== null) return Number(length) > 0;
  return req.body !== null;
}

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

  const self: { fetch: SelfFetch } = {
    fetch: () => Promise.reject(new Error('the app is not built yet')),
  };
  const v1 = new Hono<AppEnv>()
    .route('/', healthRoutes())
    .route('/', enrollmentRoutes(deps))
    .route('/', regionRoutes(deps))
    .route('/', siteRoutes(deps))
    .route('/', siteKeyRoutes(deps))
    .route('/', vendorRoutes(deps))
    .route('/', vendorKeyRoutes(deps))
    .route('/', tokenRoutes(deps))
    .route('/', modelRoutes(deps))
    .route('/', campaignRoutes(deps))
    .route('/', comparisonRoutes(deps))
    .route('/', jobRoutes(deps))
    .route('/', reportRoutes(deps))
    .route('/', rolloutRoutes(deps))
    // The report reads the comparison through the app itself, so it is the one the caller would be served.
    .route(
      '/',
      evaluationReportRoutes(deps, (req) => self.fetch(req)),
    );

  const app = new Hono<AppEnv>()
    .use('*', accessLog(deps.log, deps.clock))
    // Every body is JSON and small, except a model upload, which has its own, larger limit (routes/models.ts).
    .use('*', (c, next) => (isModelUpload(c.req.method, c.req.path) ? next() : jsonLimit(c, next)))
    .use('*', async (c, next) => {
      // A body the route cannot read is refused up front, with a code, rather than parsed as something else
      // (hono's JSON validator would otherwise read a non-JSON body as {}).
      if (hasBody(c.req.raw)) {
        const type = c.req.header('content-type') ?? '';
        const wanted = isModelUpload(c.req.method, c.req.path) ? MULTIPART : JSON_TYPE;
        if (!wanted.test(type))
          throw new ApiError(
            415,
            'unsupported-media-type',
            wanted === JSON_TYPE
              ? 'This route takes an application/json body.'
              : 'This route takes a multipart/form-data body.',
          );
      }
      await next();
    })
    .route('/v1', v1)
    .notFound(onNotFound)
    .onError(onApiError);
  self.fetch = async (req) => app.fetch(req);
  return app;
}
