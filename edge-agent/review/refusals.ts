import { eq, inArray } from 'drizzle-orm';
import type { ColumnRefusal } from '../privacy/subgroup-columns.ts';
import { subgroupRefusals } from '../state/schema.ts';
import type { AgentDb } from '../state/store.ts';

/** Replaces a job's refused subgroup columns (a rerun decides afresh). */
export async function recordRefusals(db: AgentDb, jobId: string, refused: readonly ColumnRefusal[]) {
  const decidedAt = new Date().toISOString();
  await db.transaction(async (tx) => {
    await tx.delete(subgroupRefusals).where(eq(subgroupRefusals.jobId, jobId));
    if (refused.length)
      await tx
        .insert(subgroupRefusals)
        .values(
          refused.map((r) => ({ jobId, attribute: r.column, reason: r.reason, source: r.source, decidedAt })),
        );
  });
}

/** Refused columns per job (all jobs when `jobIds` is not given), by column name. */
export async function refusalsByJob(
  db: AgentDb,
  jobIds?: readonly string[],
): Promise<Map<string, ColumnRefusal[]>> {
  const rows = await db
    .select()
    .from(subgroupRefusals)
    .where(jobIds ? inArray(subgroupRefusals.jobId, [...jobIds]) : undefined)
    .orderBy(subgroupRefusals.decidedAt, subgroupRefusals.attribute)
    .all();
  const out = new Map<string, ColumnRefusal[]>();
  for (const r of rows) {
    const list = out.get(r.jobId) ?? [];
    list.push({ column: r.attribute, reason: r.reason, source: r.source });
    out.set(r.jobId, list);
  }
  return out;
}

/** One line for people: `MRN (not-allow-listed), PatientName (identifier-shape)`. */
export function describeRefusals(refused: readonly ColumnRefusal[]): string {
  return refused.map((r) => `${r.column} (${r.reason})`).join(', ');
}
