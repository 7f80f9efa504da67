import { asc, eq, gte } from 'drizzle-orm';
import type { Principal } from '../api/env.ts';
import { seesSite } from '../api/scope.ts';
import type { Database } from '../db/database.ts';
import { reportRefusals, sites } from '../db/schema.ts';

export interface RefusalCount {
  day: string;
  siteId: string;
  stage: 'api' | 'ingest';
  code: string;
  count: number;
  lastAt: string;
}

/**
 * The refusal counts the caller may see, oldest day first: a coordinator those of its regions' sites, an
 * admin every one (also those under a site id no site has, which only an unverified envelope at ingest names).
 */
export async function listRefusals(db: Database, p: Principal, since?: string): Promise<RefusalCount[]> {
  const rows = await db
    .select({ r: reportRefusals, regionId: sites.regionId })
    .from(reportRefusals)
    .leftJoin(sites, eq(sites.id, reportRefusals.siteId))
    .where(since ? gte(reportRefusals.day, since) : undefined)
    .orderBy(
      asc(reportRefusals.day),
      asc(reportRefusals.siteId),
      asc(reportRefusals.stage),
      asc(reportRefusals.code),
    );
  return rows
    .filter(
      ({ r, regionId }) =>
        p.role === 'admin' || (regionId !== null && seesSite(p, { id: r.siteId, regionId })),
    )
    .map(({ r }) => ({
      day: r.day,
      siteId: r.siteId,
      stage: r.stage,
      code: r.code,
      count: r.count,
      lastAt: r.lastAt.toISOString(),
    }));
}
