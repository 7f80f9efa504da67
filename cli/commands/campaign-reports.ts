/**
 * `cairn campaign void-report` and `cairn campaign refusals`: a coordinator's handling of stored and refused
 * site reports (POST /v1/reports/:id/void, GET /v1/report-refusals).
 */
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

interface Voided {
  reportId: string;
  jobId: string;
  siteId: string;
  voidedAt: string;
  reason: string;
}

interface RefusalCount {
  day: string;
  siteId: string;
  stage: string;
  code: string;
  count: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerCampaignReportCommands(campaign: Command): void {
  apiCommand(
    campaign,
    'void-report',
    "void a stored report: it leaves the comparison's pools, its job reopens",
  )
    .requiredOption('--report <id>', 'the report id (the comparison lists each site row with it)')
    .requiredOption('--reason <text>', 'why, in one line (shown in the comparison)')
    .action(async (o: ApiFlags & { report: string; reason: string }) => {
      if (!UUID.test(o.report)) throw new CliError('--report must be a report id (a UUID)');
      const r = await api(o).json<Voided>('POST', `/v1/reports/${o.report}/void`, {
        json: { reason: o.reason },
      });
      print(
        o.output,
        r,
        () => `report ${r.reportId} of ${r.siteId} voided; job ${r.jobId} can be reported again`,
      );
    });
  apiCommand(campaign, 'refusals', 'refused site reports, counted per day, site, stage and reason')
    .option('--since <day>', 'from this UTC day on (YYYY-MM-DD)')
    .action(async (o: ApiFlags & { since?: string }) => {
      if (o.since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(o.since))
        throw new CliError('--since must be a day as YYYY-MM-DD');
      const query = o.since ? `?since=${o.since}` : '';
      const r = await api(o).json<{ refusals: RefusalCount[] }>('GET', `/v1/report-refusals${query}`);
      print(o.output, r, () =>
        r.refusals.length === 0
          ? 'no refused reports'
          : r.refusals.map((x) => `${x.day}  ${x.siteId}  ${x.stage}  ${x.code}  ${x.count}`).join('\n'),
      );
    });
}
