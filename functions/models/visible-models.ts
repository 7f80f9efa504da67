import { eq, inArray } from 'drizzle-orm';
import { byModelVersion } from '../../schemas/semver-order.ts';
import type { Principal } from '../api/env.ts';
import { seesModel } from '../api/scope.ts';
import { jobs, models } from '../db/schema.ts';
import type { CloudDeps } from '../deps.ts';
import { notFound } from '../errors.ts';

type ModelRow = typeof models.$inferSelect;

/** Versions by semver precedence (SQL would sort 1.10.0 before 1.9.0). */
const byVersion = byModelVersion((m: ModelRow) => ({ vendor: m.vendorId, name: m.name, version: m.version }));

/** Every model a principal may see: all for admins and coordinators, its own for a vendor, its jobs' for a site. */
export async function visibleModels(deps: CloudDeps, p: Principal): Promise<ModelRow[]> {
  return (await queryVisibleModels(deps, p)).sort(byVersion);
}

async function queryVisibleModels(deps: CloudDeps, p: Principal): Promise<ModelRow[]> {
  if (p.role === 'admin' || p.role === 'coordinator')
    return deps.db.select().from(models).orderBy(models.vendorId, models.name, models.version);
  if (p.role === 'vendor')
    return deps.db
      .select()
      .from(models)
      .where(eq(models.vendorId, p.vendorId ?? ''))
      .orderBy(models.name, models.version);
  const ids = deps.db
    .selectDistinct({ id: jobs.modelId })
    .from(jobs)
    .where(eq(jobs.siteId, p.siteId ?? ''));
  return deps.db.select().from(models).where(inArray(models.id, ids)).orderBy(models.name, models.version);
}

export async function findVisibleModel(deps: CloudDeps, p: Principal, id: string): Promise<ModelRow> {
  const row = await deps.db.query.models.findFirst({ where: eq(models.id, id) });
  if (!row || !(await seesModel(deps.db, p, row))) throw notFound('model');
  return row;
}

export function modelView(m: ModelRow) {
  return {
    modelId: m.id,
    vendor: m.vendorId,
    name: m.name,
    version: m.version,
    sha256: m.sha256,
    manifest: m.manifest,
    signingKeyId: m.signingKeyId,
    createdAt: m.createdAt.toISOString(),
  };
}
