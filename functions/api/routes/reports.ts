import { and, eq, isNotNull, lt } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { actorOf, appendAudit } from '../../audit/append.ts';
import { nonces, reportReceipts, reports, sites } from '../../db/schema.ts';
import { type CloudDeps, limitsOf, REPORTS_TOPIC } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { countRefusal } from '../../reports/count-refusal.ts';
import { listRefusals } from '../../reports/list-refusals.ts';
import {
  checkReportContent,
  checkReportSite,
  checkTimestamp,
  decodeReportPayload,
  findAssignedJob,
  findSiteKey,
  parseEnvelope,
  verifyEnvelopeSignature,
} from '../../reports/verify-envelope.ts';
import { voidReport } from '../../reports/void-report.ts';
import { createGuard } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

export function reportRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  /** Runs the contract's checks in order and queues the report; throws the first refusal. */
  async function receiveReport(raw: Request, siteId: string | null) {
    const envelope = parseEnvelope(await readJson(raw));
    if (envelope.siteId !== siteId)
      throw new ApiError(403, 'site-mismatch', "The envelope names a site other than this token's.");
    verifyEnvelopeSignature(envelope, await findSiteKey(deps.db, envelope));
    const now = deps.clock.now();
    checkTimestamp(envelope, now, limitsOf(deps).clockSkewMs);
    // The unique (site, nonce) key makes this insert the replay check: of two racing copies, one wins.
    const [fresh] = await deps.db
      .insert(nonces)
      .values({ siteId: envelope.siteId, nonce: envelope.nonce, seenAt: now })
      .onConflictDoNothing()
      .returning({ nonce: nonces.nonce });
    if (!fresh) throw new ApiError(409, 'replayed-nonce', 'This envelope nonce has been used before.');
    // A nonce only has to be remembered while an envelope carrying it could still pass the timestamp check:
    // signed up to one skew ahead of the clock, accepted up to one skew late. Older ones are forgotten, so
    // the table stays as small as one site's traffic over that window.
    const skew = limitsOf(deps).clockSkewMs;
    await deps.db
      .delete(nonces)
      .where(and(eq(nonces.siteId, envelope.siteId), lt(nonces.seenAt, new Date(now.getTime() - 3 * skew))));
    const report = decodeReportPayload(envelope.payload);
    checkReportSite(report, envelope);
    const job = await findAssignedJob(deps.db, report, envelope.siteId);
    await checkReportContent(deps.db, report, job);
    // A voided report's receipt is gone (its job is open again), so the report table answers for it.
    const storedBefore = await deps.db.query.reports.findFirst({
      where: eq(reports.reportId, report.reportId),
      columns: { reportId: true },
    });
    if (storedBefore)
      throw new ApiError(409, 'duplicate-report', 'A report with this reportId has already been received.');

    // The receipt is the at-most-once gate: its keys refuse a second copy of a report, or a second report
    // for one job, before anything reaches the queue.
    const [receipt] = await deps.db
      .insert(reportReceipts)
      .values({
        reportId: report.reportId,
        jobId: job.jobId,
        siteId: job.siteId,
        status: 'queued',
        receivedAt: now,
      })
      .onConflictDoNothing()
      .returning({ reportId: reportReceipts.reportId });
    if (!receipt) throw await whyDuplicate(deps, report.reportId);
    try {
      await deps.queue.send(REPORTS_TOPIC, JSON.stringify({ envelope }));
    } catch {
      // Undo the receipt and the nonce so that the agent can send this very envelope again.
      await deps.db.batch([
        deps.db.delete(reportReceipts).where(eq(reportReceipts.reportId, report.reportId)),
        deps.db
          .delete(nonces)
          .where(and(eq(nonces.siteId, envelope.siteId), eq(nonces.nonce, envelope.nonce))),
      ]);
      throw new ApiError(503, 'queue-unavailable', 'The report could not be queued; send it again later.');
    }
    return { reportId: report.reportId, jobId: job.jobId, siteId: job.siteId, keyId: envelope.keyId };
  }

  return new Hono<AppEnv>()
    .post('/reports', guard('site'), async (c) => {
      const p = c.get('principal');
      try {
        const accepted = await receiveReport(c.req.raw, p.siteId);
        await appendAudit(deps, {
          actor: actorOf(p),
          action: 'report.queued',
          target: accepted.reportId,
          detail: { siteId: accepted.siteId, jobId: accepted.jobId, keyId: accepted.keyId },
        });
        return c.json({ reportId: accepted.reportId, status: 'queued' as const }, 202);
      } catch (err) {
        // Every refusal of an authenticated site is a security event: counted with its code, never its body
        // (and audited the first time each day, see countRefusal).
        if (err instanceof ApiError)
          await countRefusal(deps, {
            siteId: p.siteId ?? '',
            stage: 'api',
            code: err.code,
            audit: {
              actor: actorOf(p),
              action: 'report.refused',
              target: p.siteId ?? '',
              detail: { code: err.code, status: err.status },
            },
          });
        throw err;
      }
    })
    .get(
      '/reports/:reportId',
      guard('admin', 'coordinator', 'site'),
      validate('param', z.object({ reportId: z.string().uuid() })),
      async (c) => {
        const { reportId } = c.req.valid('param');
        const [receipt] = await deps.db
          .select({ status: reportReceipts.status, siteId: sites.id, regionId: sites.regionId })
          .from(reportReceipts)
          .innerJoin(sites, eq(sites.id, reportReceipts.siteId))
          .where(eq(reportReceipts.reportId, reportId));
        // A voided report has no receipt any more (its job reopened): the report row says what happened.
        const [voided] = receipt
          ? []
          : await deps.db
              .select({ siteId: sites.id, regionId: sites.regionId })
              .from(reports)
              .innerJoin(sites, eq(sites.id, reports.siteId))
              .where(and(eq(reports.reportId, reportId), isNotNull(reports.voidedAt)));
        const row = receipt ?? (voided ? { ...voided, status: 'voided' as const } : undefined);
        if (!row || !seesSite(c.get('principal'), { id: row.siteId, regionId: row.regionId }))
          throw notFound('report');
        return c.json({ reportId, status: row.status });
      },
    )
    .post(
      '/reports/:reportId/void',
      guard('admin', 'coordinator'),
      validate('param', z.object({ reportId: z.string().uuid() })),
      validate('json', VoidBody),
      async (c) => {
        const { reportId } = c.req.valid('param');
        const { reason } = c.req.valid('json');
        return c.json(await voidReport(deps, c.get('principal'), reportId, reason));
      },
    )
    .get(
      '/report-refusals',
      guard('admin', 'coordinator'),
      validate('query', z.object({ since: z.iso.date().optional() }).strict()),
      async (c) => {
        const { since } = c.req.valid('query');
        return c.json({ refusals: await listRefusals(deps.db, c.get('principal'), since) });
      },
    );
}

/** A reason people can read back in the comparison: one line of printable text, no control characters. */
const VoidBody = z
  .object({
    reason: z
      .string()
      .trim()
      .min(3)
      .max(500)
      .regex(/^[^\p{Cc}]+$/u, 'one line of text without control characters'),
  })
  .strict();

async function readJson(req: Request): Promise<unknown> {
  try {
    return JSON.parse(await req.text());
  } catch {
    throw new ApiError(400, 'invalid-envelope', 'The body is not valid JSON.');
  }
}

async function whyDuplicate(deps: CloudDeps, reportId: string): Promise<ApiError> {
  const same = await deps.db.query.reportReceipts.findFirst({ where: eq(reportReceipts.reportId, reportId) });
  if (same)
    return new ApiError(409, 'duplicate-report', 'A report with this reportId has already been received.');
  return new ApiError(409, 'job-already-reported', 'This job already has a report; a job is reported once.');
}
