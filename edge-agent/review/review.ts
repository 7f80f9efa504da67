import { and, asc, eq } from 'drizzle-orm';
import { UserError } from '../../client/errors.ts';
import { SiteReport } from '../../schemas/site-report.ts';
import type { ColumnRefusal } from '../privacy/subgroup-columns.ts';
import { jobs, outbox } from '../state/schema.ts';
import type { AgentDb } from '../state/store.ts';
import { describeRefusals, refusalsByJob } from './refusals.ts';

export interface HeldReport {
  reportId: string;
  jobId: string;
  createdAt: string;
  /** Exactly the payload bytes every envelope for this report will carry (canonical JSON). */
  bytes: string;
  report: SiteReport;
  /** Subgroup columns the campaign asked for that this site refused to release, with the rule. */
  refused: ColumnRefusal[];
}

/** Reports waiting for a site admin, oldest first. */
export async function listHeldReports(db: AgentDb): Promise<HeldReport[]> {
  const rows = await db
    .select()
    .from(outbox)
    .where(eq(outbox.status, 'held'))
    .orderBy(asc(outbox.createdAt))
    .all();
  const refused = await refusalsByJob(
    db,
    rows.map((r) => r.jobId),
  );
  return rows.map((r) => ({
    reportId: r.reportId,
    jobId: r.jobId,
    createdAt: r.createdAt,
    bytes: r.report,
    report: SiteReport.parse(JSON.parse(r.report)),
    refused: refused.get(r.jobId) ?? [],
  }));
}

/** A site admin's decision on one held report; only a held report can be decided, and only once. */
export async function decideHeldReport(
  db: AgentDb,
  reportId: string,
  decision: 'approve' | 'reject',
): Promise<void> {
  const changed = await db
    .update(outbox)
    .set(
      decision === 'approve'
        ? { status: 'pending', approvedBy: 'admin' }
        : { status: 'rejected', approvedBy: null },
    )
    .where(and(eq(outbox.reportId, reportId), eq(outbox.status, 'held')))
    .returning({ jobId: outbox.jobId });
  const [decided] = changed;
  if (!decided) throw new UserError(`no report ${reportId} is waiting for review`);
  // The coordinator would otherwise see the job held forever: it ends as declined, and a rerun can ask again.
  if (decision === 'reject')
    await db
      .update(jobs)
      .set({
        status: 'failed',
        failure: 'release-declined-at-site',
        statusToSend: 'failed',
        updatedAt: new Date().toISOString(),
      })
      .where(eq(jobs.jobId, decided.jobId));
}

const pct = (x: number | null) => (x === null ? 'withheld' : `${(x * 100).toFixed(1)} %`);
const count = (x: number | null) => (x === null ? 'suppressed' : String(x));
const total = (x: number | null) => (x === null ? 'withheld' : String(x));
const bins = (xs: number[] | null) => (xs === null ? 'withheld' : `[${xs.join(' ')}]`);

/** What a data-protection officer reads before approving: every released number, then the exact bytes. */
export function renderHeldReport(h: HeldReport): string {
  const r = h.report;
  const lines = [
    `report ${h.reportId}  (job ${h.jobId}, campaign ${r.campaignId}, created ${h.createdAt})`,
    `model ${r.model.vendor}/${r.model.name} ${r.model.version}; minimum cell size ${r.minCell}`,
    `cases ${total(r.cases)} (positives ${total(r.positives)}, negatives ${total(r.negatives)}); images seen ${total(r.images.seen)}, used ${total(r.images.used)}`,
    ...(r.withheld
      ? [
          `withheld: ${r.withheld.classes.join(' and ')} (${r.withheld.reason}: fewer than ${r.minCell} cases; with them cases, images, AUC, calibration, paired comparison and subgroups)`,
        ]
      : []),
    `excluded: ${
      Object.entries(r.excluded)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    `confusion at ${r.threshold}: tp ${count(r.confusion.tp)}, fp ${count(r.confusion.fp)}, tn ${count(r.confusion.tn)}, fn ${count(r.confusion.fn)}`,
    `sensitivity ${pct(r.sensitivity.estimate)}, specificity ${pct(r.specificity.estimate)}, ppv ${pct(r.ppv.estimate)}, npv ${pct(r.npv.estimate)}`,
    `AUC ${r.auc.estimate === null ? `withheld (${r.auc.reason})` : r.auc.estimate.toFixed(3)}`,
    `histogram: ${r.histogram.edges.length - 1} bins; positives ${bins(r.histogram.positives)}, negatives ${bins(r.histogram.negatives)}`,
    `subgroups: ${(r.subgroups ?? []).map((g) => `${g.attribute}=${g.value} (${g.cases})`).join(', ') || 'none'}`,
    `subgroup columns refused (not sent): ${describeRefusals(h.refused) || 'none'}`,
    `suppressed: ${r.suppressed.join(', ') || 'nothing'}`,
    '',
    'exact bytes that will be sent (signed in an envelope with site id, key id, time and nonce):',
    h.bytes,
  ];
  return lines.join('\n');
}
