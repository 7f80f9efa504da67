import { Hono } from 'hono';
import { CLOUD_VERSION } from '../../version.ts';
import type { AppEnv } from '../env.ts';

/** Liveness without a token: says only that the API answers, and which version it is. */
export function healthRoutes() {
  return new Hono<AppEnv>().get('/health', (c) => c.json({ ok: true, version: CLOUD_VERSION }));
}
