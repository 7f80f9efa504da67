import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Envelope } from '../../../schemas/envelope.ts';
import { actorOf } from '../../audit/append.ts';
import { preparedPerDatabase } from '../../db/prepared.ts';
import { reportReceipts, reports, sites } from '../../db/schema.ts';
import { type CloudDeps, limitsOf } from '../../deps.ts';
import { ApiError, notFound } from '../../errors.ts';
import { countRefusal } from '../../reports/count-refusal.ts';
import { listRefusals } from '../../reports/list-refusals.ts';
import {
  duplicateReport,
  queueReport,
  receiptAnswer,
  refuseSeenNonce,
  spendNonceStatements,
} from '../../reports/queue-report.ts';
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
import type { AppEnv, Principal } from '../env.ts';
import { seesSite } from '../scope.ts';
import { validate } from '../validate.ts';

export function reportRoutes(deps: CloudDeps) {
  const guard = createGuard(deps);
  /**
   * Runs the contract's checks in order and queues the report; throws the first refusal. The receipt, the
   * nonce, the message and the `report.queued` entry commit together (see queueReport). A refusal after the
   * replay check names the envelope in `refused.spend`: its nonce is spent with the refusal's count.
   */
  async function receiveReport(raw: Request, p: Principal, refused: { spend?: Envelope }) {
    const envelope = parseEnvelope(await readJson(raw));
    if (envelope.siteId !== p.siteId)
      throw new ApiError(403, 'site-mismatch', "The envelope names a site other than this token's.");
    verifyEnvelopeSignature(envelope, await findSiteKey(deps.db, envelope));
    checkTimestamp(envelope, deps.clock.now(), limitsOf(deps).clockSkewMs);
    await refuseSeenNonce(deps, envelope);
    try {
      const report = decodeReportPayload(envelope.payload);
      checkReportSite(report, envelope);
      const job = await findAssignedJob(deps.db, report, envelope.siteId);
      await checkReportContent(deps.db, report, job);
      // A voided report's receipt is gone (its job is open again), so the report table answers for it.
      const storedBefore = await reportStored(deps.db).execute({ reportId: report.reportId });
      if (storedBefore) throw duplicateReport();
      await queueReport(deps, envelope, job, report.reportId, {
        actor: actorOf(p),
        action: 'report.queued',
        target: report.reportId,
        detail: { siteId: job.siteId, jobId: job.jobId, keyId: envelope.keyId },
      });
      return { reportId: report.reportId };
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) refused.spend = envelope;
      throw err;
    }
  }

  return new Hono<AppEnv>()
    .post('/reports', guard('site'), async (c) => {
      const p = c.get('principal');
      const refused: { spend?: Envelope } = {};
      try {
        const accepted = await receiveReport(c.req.raw, p, refused);
        return c.json({ reportId: accepted.reportId, status: 'queued' as const }, 202);
      } catch (err) {
        // Every refusal of an authenticated site is a security event: counted with its code, never its body
        // (and audited the first time each day, see countRefusal).
        if (err instanceof ApiError)
          await countRefusal(deps, {
            siteId: p.siteId ?? '',
            stage: 'api',
            code: err.code,
            ...(refused.spend ? { with: spendNonceStatements(deps, refused.spend) } : {}),
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
      '/reports/:reportId/receipt',
      guard('site'),
      validate('param', z.object({ reportId: z.string().uuid() })),
      async (c) => {
        const { reportId } = c.req.valid('param');
        // Another site's report is 'unknown' like one never sent: the answer says nothing about other sites.
        return c.json({ status: await receiptAnswer(deps, c.get('principal').siteId ?? '', reportId) });
      },
    )
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

const reportStored = preparedPerDatabase((db) =>
  db.query.reports
    .findFirst({ where: eq(reports.reportId, sql.placeholder('reportId')), columns: { reportId: true } })
    .prepare(),
);

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
