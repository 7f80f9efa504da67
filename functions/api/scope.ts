import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { jobs } from '../db/schema.ts';
import type { Principal } from './env.ts';

/**
 * Object-level visibility. Callers answer 404 for anything a principal cannot see, so a token learns nothing
 * about other organisations' objects — not even that they exist.
 */

export function seesRegion(p: Principal, regionId: string): boolean {
  if (p.role === 'admin') return true;
  if (p.role === 'coordinator') return p.regionIds === null || p.regionIds.includes(regionId);
  return false;
}

export function seesSite(p: Principal, site: { id: string; regionId: string }): boolean {
  if (p.role === 'site') return p.siteId === site.id;
  return seesRegion(p, site.regionId);
}

/** Vendors see their own models; sites see the models of their jobs; admins and coordinators see all. */
export async function seesModel(db: Database, p: Principal, model: { id: string; vendorId: string }) {
  if (p.role === 'admin' || p.role === 'coordinator') return true;
  if (p.role === 'vendor') return p.vendorId === model.vendorId;
  if (!p.siteId) return false;
  const job = await db.query.jobs.findFirst({
    where: and(eq(jobs.siteId, p.siteId), eq(jobs.modelId, model.id)),
    columns: { id: true },
  });
  return job !== undefined;
}
