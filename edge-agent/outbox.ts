import { and, eq } from 'drizzle-orm';
import { type CloudApi, CloudRefusal, CloudUnreachable } from '../client/cloud-api.ts';
import { canonicalJson } from '../schemas/canonical-json.ts';
import type { SiteReport } from '../schemas/site-report.ts';
import { type Signer, signReport } from './identity.ts';
import { epsilonSpent, exceedsBudget, PrivacyBudgetExhausted } from './privacy/ledger.ts';
import type { ReleaseDecision } from './review/policy.ts';
import { jobs, outbox, privacyLedger } from './state/schema.ts';
import type { AgentDb } from './state/store.ts';

export interface FlushResult {
  sent: number;
  refused: number;
  pending: number;
  /** Reports waiting for a site admin's approval; they do not leave until approved. */
  held: number;
}

/**
 * Puts a gated report in the outbox: held for a site admin's review, or — when the site's written policy
 * pre-approves it — pending, to leave on the next flush (now, or after the network is back).
 */
export async function enqueueReport(
  db: AgentDb,
  report: SiteReport,
  release: ReleaseDecision,
  /** The campaign's ε budget, when the report was released with differential privacy. */
  epsilonBudget?: number,
) {
  const jobId = report.jobId;
  await db.transaction(async (tx) => {
    // The ε this report spends is booked with it, atomically: a report in the outbox is a report paid for.
    const dp = report.differentialPrivacy;
    if (
      dp &&
      epsilonBudget !== undefined &&
      exceedsBudget(await epsilonSpent(tx, report.campaignId), dp.epsilon, epsilonBudget)
    )
      throw new PrivacyBudgetExhausted(`campaign ${report.campaignId} has no ε left for this release`);
    if (dp)
      await tx.insert(privacyLedger).values({
        reportId: report.reportId,
        campaignId: report.campaignId,
        epsilon: dp.epsilon,
        spentAt: new Date().toISOString(),
      });
    await tx.insert(outbox).values({
      reportId: report.reportId,
      jobId,
      report: canonicalJson(report),
      status: release.release === 'auto-approved' ? 'pending' : 'held',
      approvedBy: release.release === 'auto-approved' ? `policy:${release.rule}` : null,
      createdAt: new Date().toISOString(),
    });
    await tx
      .update(jobs)
      .set({ status: 'reported', updatedAt: new Date().toISOString() })
      .where(eq(jobs.jobId, jobId));
  });
}

/** The cloud's code for "this job already has another report": the job is settled there. */
const JOB_SETTLED = 'job-already-reported';

/**
 * Answers that may hide a report the cloud has (an earlier try arrived, or this one did and its answer was
 * lost): before the outbox calls the report sent or refused, the cloud is asked what became of it.
 */
const ASK_FIRST = new Set(['duplicate-report', 'replayed-nonce']);

/**
 * The cloud's codes for "the key that signed this is not (or no longer) current": a refusal of the signing
 * key, not of the report. After a rotation (or a revocation and a new key) the same report goes out signed
 * afresh with the new key, so it stays pending instead of being refused for good.
 */
const KEY_REFUSED = new Set(['revoked-key', 'unknown-key']);

/**
 * Signs and sends every pending report; each try (the client's retry too) is signed afresh. A report the
 * cloud says it has stored or queued is sent; a network failure, a server error, a refused signing key, or a
 * 409 the cloud cannot back with the report leaves it pending, to go again signed afresh; any other refusal
 * is final and recorded with the cloud's code.
 */
export async function flushOutbox(db: AgentDb, api: CloudApi, signer: Signer): Promise<FlushResult> {
  const pending = await db.select().from(outbox).where(eq(outbox.status, 'pending')).all();
  const held = await db
    .select({ reportId: outbox.reportId })
    .from(outbox)
    .where(eq(outbox.status, 'held'))
    .all();
  const result: FlushResult = { sent: 0, refused: 0, pending: 0, held: held.length };
  for (const row of pending) {
    const attempt = { attempts: row.attempts + 1 };
    const report = JSON.parse(row.report) as SiteReport;
    try {
      await api.json('POST', '/v1/reports', { each: () => signReport(report, signer) });
      await markSent(db, row.reportId, attempt);
      result.sent++;
    } catch (err) {
      const ambiguous =
        err instanceof CloudUnreachable || (err instanceof CloudRefusal && ASK_FIRST.has(err.code));
      if (
        (ambiguous && (await cloudHolds(api, row.reportId))) ||
        (err instanceof CloudRefusal && err.code === JOB_SETTLED)
      ) {
        await markSent(db, row.reportId, attempt);
        result.sent++;
      } else if (
        err instanceof CloudRefusal &&
        err.status >= 400 &&
        err.status < 500 &&
        !ambiguous &&
        !KEY_REFUSED.has(err.code)
      ) {
        await db
          .update(outbox)
          .set({ ...attempt, status: 'refused', lastError: err.code })
          .where(eq(outbox.reportId, row.reportId));
        result.refused++;
      } else if (err instanceof CloudUnreachable || err instanceof CloudRefusal) {
        await db
          .update(outbox)
          .set({ ...attempt, lastError: err instanceof CloudRefusal ? err.code : 'unreachable' })
          .where(and(eq(outbox.reportId, row.reportId), eq(outbox.status, 'pending')));
        result.pending++;
      } else throw err;
    }
  }
  return result;
}

/** Whether the cloud says it has stored or queued this report; a cloud that cannot say does not. */
async function cloudHolds(api: CloudApi, reportId: string): Promise<boolean> {
  try {
    const answer = await api.json<{ status?: unknown }>('GET', `/v1/reports/${reportId}/receipt`);
    return answer.status === 'stored' || answer.status === 'queued';
  } catch (err) {
    if (err instanceof CloudUnreachable || err instanceof CloudRefusal) return false;
    throw err;
  }
}

async function markSent(db: AgentDb, reportId: string, attempt: { attempts: number }) {
  await db
    .update(outbox)
    .set({ ...attempt, status: 'sent', sentAt: new Date().toISOString(), lastError: null })
    .where(eq(outbox.reportId, reportId));
}
