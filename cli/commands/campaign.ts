/**
 * `cairn campaign …` (coordinators): `create` and `compare`, and `list`, `status` and `rerun`: where a
 * campaign's jobs stand at each site (GET /v1/campaigns, GET /v1/campaigns/:id/status) and running failed ones
 * again (POST /v1/campaigns/:id/rerun). `void-report` and `refusals` are in campaign-reports.ts.
 */
import type { Command } from 'commander';
import type { Comparison } from '../../schemas/comparison.ts';
import { print } from '../output.ts';
import { table } from '../table.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';
import { registerCampaignReportCommands } from './campaign-reports.ts';

type CreateFlags = ApiFlags & {
  name: string;
  models: string;
  sites: string;
  bins: string;
  minCell: string;
  subgroups?: string;
};

interface CampaignSummary {
  campaignId: string;
  name: string;
  createdAt: string;
  modelIds: string[];
  jobCount: number;
  doneCount: number;
  failedCount?: number;
}

interface JobState {
  jobId: string;
  siteId: string;
  regionId: string;
  modelId: string;
  model: string;
  /** pending, running, held (at the site, for review), failed, reported or withheld. */
  state: string;
  attempt: number;
  failure?: string;
  withheld?: string;
  failureCounts?: { filesScanned?: number; excluded?: Record<string, number> };
}

const reasonOf = (j: JobState) => j.failure ?? j.withheld ?? '';

export function registerCampaignCommands(program: Command): void {
  const campaign = program.command('campaign').description('evaluation campaigns (coordinators)');
  registerCreateAndCompare(campaign);
  registerCampaignReportCommands(campaign);
  registerJobCommands(campaign);
}

function registerCreateAndCompare(campaign: Command): void {
  apiCommand(campaign, 'create', 'evaluate model versions at sites')
    .requiredOption('--name <name>', 'campaign name')
    .requiredOption('--models <ids>', 'comma-separated model ids')
    .requiredOption('--sites <ids>', 'comma-separated site ids')
    .option('--bins <n>', 'histogram bins on [0,1]', '20')
    .option('--min-cell <k>', 'minimum released cell size', '5')
    .option('--subgroups <names>', 'extra subgroup attributes every site reports (labels.csv columns)')
    .option('--criteria <file>', 'acceptance criteria (cairn.criteria/v1 JSON), frozen with the campaign')
    .action(async (o: CreateFlags & { criteria?: string }) => {
      const { readCriteriaFile } = await import('./criteria-file.ts');
      const criteria = o.criteria ? readCriteriaFile(o.criteria).criteria : undefined;
      const r = await api(o).json<{ campaignId: string; jobs: unknown[] }>('POST', '/v1/campaigns', {
        json: {
          name: o.name,
          modelIds: o.models.split(','),
          siteIds: o.sites.split(','),
          bins: Number(o.bins),
          minCell: Number(o.minCell),
          ...(o.subgroups ? { subgroupAttributes: o.subgroups.split(',').filter(Boolean) } : {}),
          ...(criteria ? { criteria } : {}),
        },
      });
      print(o.output, r, () => `campaign ${r.campaignId} created with ${r.jobs.length} jobs`);
    });
  apiCommand(campaign, 'compare', 'per site, per region and overall performance of each model version')
    .requiredOption('--campaign <id>', 'campaign id')
    .action(async (o: ApiFlags & { campaign: string }) => {
      const { renderComparison } = await import('../render-comparison.ts');
      const r = await api(o).json<Comparison>(
        'GET',
        `/v1/campaigns/${encodeURIComponent(o.campaign)}/comparison`,
      );
      print(o.output, r, () => renderComparison(r));
    });
}

function registerJobCommands(campaign: Command): void {
  apiCommand(
    campaign,
    'list',
    'campaigns you can see, with how many of their jobs are done and failed',
  ).action(async (o: ApiFlags) => {
    const r = await api(o).json<{ campaigns: CampaignSummary[] }>('GET', '/v1/campaigns');
    print(o.output, r, () =>
      r.campaigns.length === 0
        ? 'no campaigns'
        : table(
            ['CAMPAIGN', 'NAME', 'CREATED', 'MODELS', 'JOBS', 'DONE', 'FAILED'],
            r.campaigns.map((c) => [
              c.campaignId,
              c.name,
              c.createdAt.slice(0, 10),
              String(c.modelIds.length),
              String(c.jobCount),
              String(c.doneCount),
              String(c.failedCount ?? 0),
            ]),
          ),
    );
  });

  apiCommand(
    campaign,
    'status',
    'each job per site and model: pending, running, held, failed (why), reported, withheld',
  )
    .requiredOption('--campaign <id>', 'campaign id')
    .action(async (o: ApiFlags & { campaign: string }) => {
      const r = await api(o).json<{ campaignId: string; name: string; jobs: JobState[] }>(
        'GET',
        `/v1/campaigns/${encodeURIComponent(o.campaign)}/status`,
      );
      print(o.output, r, () => {
        const counts = new Map<string, number>();
        for (const j of r.jobs) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
        const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
        return [
          `campaign ${r.campaignId} (${r.name}): ${summary || 'no jobs'}`,
          table(
            ['SITE', 'REGION', 'MODEL', 'STATE', 'ATTEMPT', 'REASON'],
            r.jobs.map((j) => [j.siteId, j.regionId, j.model, j.state, String(j.attempt), reasonOf(j)]),
          ),
        ].join('\n');
      });
    });

  apiCommand(
    campaign,
    'rerun',
    'run failed jobs again (all the campaign’s failed jobs you can see by default)',
  )
    .requiredOption('--campaign <id>', 'campaign id')
    .option('--site <id>', 'only this site’s failed jobs')
    .option('--model <id>', 'only this model’s failed jobs')
    .action(async (o: ApiFlags & { campaign: string; site?: string; model?: string }) => {
      const r = await api(o).json<{
        rerun: { jobId: string; siteId: string; modelId: string; attempt: number }[];
      }>('POST', `/v1/campaigns/${encodeURIComponent(o.campaign)}/rerun`, {
        json: { ...(o.site ? { siteId: o.site } : {}), ...(o.model ? { modelId: o.model } : {}) },
      });
      print(o.output, r, () =>
        r.rerun.length === 0
          ? 'no failed jobs matched: nothing to rerun'
          : [
              `${r.rerun.length} job(s) pending again; each site's agent runs them on its next pass:`,
              table(
                ['JOB', 'SITE', 'MODEL', 'ATTEMPT'],
                r.rerun.map((j) => [j.jobId, j.siteId, j.modelId, String(j.attempt)]),
              ),
            ].join('\n'),
      );
    });
}
