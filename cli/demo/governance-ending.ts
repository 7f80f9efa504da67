import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudApi } from '../../client/cloud-api.ts';
import type { Comparison } from '../../schemas/comparison.ts';
import type { RolloutView } from '../../schemas/rollout.ts';

export interface GovernanceEnding {
  /** Every (model version, region) rollout as the verdicts left it. */
  rollouts: RolloutView[];
  /** The evaluation report files written, one set per model version. */
  reports: string[];
  /** Why a format was not written (PDF without Chromium). */
  notes: string[];
}

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The end of a scenario run, read as an admin after the comparison was built (which set the rollouts from
 * its verdicts): the rollout state each version reached per region, and each version's evaluation report
 * written under `<out>/evaluation-reports/` as HTML and JSON, and PDF where Chromium is installed.
 */
export async function governanceEnding(
  admin: CloudApi,
  campaignId: string,
  comparison: Comparison,
  out: string,
): Promise<GovernanceEnding> {
  const { rollouts } = await admin.json<{ rollouts: RolloutView[] }>('GET', '/v1/rollouts');
  const dir = join(out, 'evaluation-reports');
  mkdirSync(dir, { recursive: true });
  const pdf = existsSync(CHROMIUM);
  const reports: string[] = [];
  for (const m of comparison.models) {
    const base = join(dir, `${m.vendor}-${m.name}-${m.version}`);
    const path = (format: string) =>
      `/v1/models/${encodeURIComponent(m.modelId)}/evaluation-report?format=${format}&campaign=${encodeURIComponent(campaignId)}`;
    const html = await admin.bytes(path('html'));
    writeFileSync(`${base}.html`, html);
    writeFileSync(`${base}.json`, await admin.bytes(path('json')));
    reports.push(`${base}.html`, `${base}.json`);
    if (pdf) {
      const { htmlToPdf } = await import('../commands/report-pdf.ts');
      writeFileSync(`${base}.pdf`, await htmlToPdf(new TextDecoder().decode(html)));
      reports.push(`${base}.pdf`);
    }
  }
  const notes = pdf
    ? []
    : [`no PDF reports: Chromium is not at ${CHROMIUM} (apt-get install chromium, or set CAIRN_CHROMIUM)`];
  return {
    rollouts: rollouts.filter((r) => comparison.models.some((m) => m.modelId === r.modelId)),
    reports,
    notes,
  };
}

/** The lines the demo ends with: each version's state per region, then where its reports are. */
export function governanceLines(g: GovernanceEnding): string[] {
  const byVersion = [...g.rollouts].sort(
    (a, b) => a.version.localeCompare(b.version, 'en') || a.regionId.localeCompare(b.regionId, 'en'),
  );
  return [
    'rollout states the verdicts reached:',
    ...byVersion.map(
      (r) =>
        `  ${r.vendor}/${r.name}@${r.version} in ${r.regionId}: ${r.state}${r.verdict ? ` (verdict ${r.verdict})` : ''}`,
    ),
    'evaluation reports:',
    ...g.reports.map((f) => `  ${f}`),
    ...g.notes,
  ];
}
