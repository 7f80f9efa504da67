import { randomUUID } from 'node:crypto';
import type { Job } from '../../schemas/job.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import type { AgentSettings } from '../config.ts';
import { joinLabels } from '../labels.ts';
import { enqueueReport } from '../outbox.ts';
import { JobFailure } from '../pipeline/job-failure.ts';
import type { ScoreFolderResult } from '../pipeline/pipeline-types.ts';
import { privacyGate } from '../privacy/gate.ts';
import { PrivacyBudgetExhausted } from '../privacy/ledger.ts';
import { decideSubgroupColumns } from '../privacy/subgroup-columns.ts';
import { buildSiteReport, type FullSiteReport } from '../report/site-report.ts';
import type { ReleaseDecision } from '../review/policy.ts';
import { recordRefusals } from '../review/refusals.ts';
import type { AgentDb } from '../state/store.ts';
import { AGENT_VERSION } from '../version.ts';
import type { Identity, ScoredModel } from './context.ts';
import { type JobInputs, STANDARD_SUBGROUPS } from './input-steps.ts';

export type JoinedCases = ReturnType<typeof joinLabels>;

/**
 * Step join-labels: study scores with their labels; attributes read from the images first, the campaign's
 * extra attributes from labels.csv columns. No study with both is no-cases.
 */
export function joinStudyLabels(scored: ScoreFolderResult, inputs: JobInputs): JoinedCases {
  const attributes = new Map<string, Record<string, string>>();
  for (const study of scored.studyScores.keys())
    attributes.set(study, {
      ...inputs.labels.attributes.get(study),
      ...definedOnly(scored.studyAttributes.get(study)),
    });
  const joined = joinLabels(scored.studyScores, inputs.labels, attributes);
  if (joined.outcomes.length === 0)
    throw new JobFailure('no-cases', 'no study has both a scored image and a label');
  return joined;
}

export interface ReportInput {
  db: AgentDb;
  me: Identity;
  job: Job;
  scored: ScoreFolderResult;
  joined: JoinedCases;
  inputs: JobInputs;
  settings: AgentSettings;
  /** Models of this campaign already evaluated in this pass; this one is added. */
  peers: ScoredModel[];
}

/**
 * Step build-report: the full (ungated) site report. Paired with the campaign's previously evaluated model
 * when that one scored every one of these studies; every attribute the report would group by passes the
 * identifier checks first, and the refused columns are recorded locally.
 */
export async function buildReport(r: ReportInput): Promise<FullSiteReport> {
  const { job, joined, scored } = r;
  const manifest = job.model.manifest;
  const thisModel = {
    vendor: manifest.vendor,
    name: manifest.name,
    version: manifest.version,
    sha256: job.model.sha256,
  };
  const peer = r.peers.findLast((p) => p.model.sha256 !== thisModel.sha256);
  const scoresB = peer ? joined.outcomes.map((o) => peer.studyScores.get(o.study)) : [];
  const paired = peer !== undefined && scoresB.every((s) => s !== undefined);
  r.peers.push({ model: thisModel, studyScores: scored.studyScores });
  const excluded = { ...scored.excluded };
  for (const [reason, n] of Object.entries(joined.excluded))
    excluded[reason as keyof typeof excluded] = (excluded[reason as keyof typeof excluded] ?? 0) + (n ?? 0);
  const columns = decideSubgroupColumns({
    // Without campaign attributes, only the standard ones some image carried.
    dicom: job.subgroupAttributes?.length
      ? STANDARD_SUBGROUPS
      : STANDARD_SUBGROUPS.filter((a) => joined.outcomes.some((o) => o.attributes?.[a] !== undefined)),
    requested: r.inputs.requested,
    allowList: r.settings.releaseColumns,
    cases: joined.outcomes.map((o) => o.attributes),
  });
  await recordRefusals(r.db, job.jobId, columns.refused);
  return buildSiteReport({
    reportId: randomUUID(),
    campaignId: job.campaignId,
    jobId: job.jobId,
    siteId: r.me.siteId,
    model: thisModel,
    agentVersion: AGENT_VERSION,
    threshold: manifest.threshold,
    binEdges: job.binEdges,
    outcomes: paired
      ? joined.outcomes.map((o, i) => ({ ...o, scoreB: scoresB[i] as number }))
      : joined.outcomes,
    ...(paired ? { modelB: peer.model } : {}),
    excluded,
    images: scored.images,
    subgroupAttributes: columns.released,
  });
}

/** Step gate: what may leave the site (k-anonymity cells, optional differential privacy). */
export function gate(full: FullSiteReport, job: Job, settings: AgentSettings): SiteReport {
  return privacyGate(full, {
    minCell: Math.max(job.minCell, settings.minCell),
    ...(settings.dp ? { dp: { epsilon: settings.dp.epsilonPerReport } } : {}),
  });
}

/**
 * Step enqueue: the signed report waits in the outbox. Another agent process may have spent the budget while
 * this one was computing: then the report is dropped unsent (privacy-budget-exhausted).
 */
export async function enqueue(
  db: AgentDb,
  report: SiteReport,
  release: ReleaseDecision,
  settings: AgentSettings,
): Promise<void> {
  try {
    await enqueueReport(db, report, release, settings.dp?.budgetPerCampaign);
  } catch (err) {
    if (err instanceof PrivacyBudgetExhausted) throw new JobFailure('privacy-budget-exhausted');
    throw err;
  }
}

function definedOnly(attrs: object | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attrs ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}
