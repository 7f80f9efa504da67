/** `cairn agent status` (enrollment, jobs, outbox) and `cairn agent sent` (every request, as sent). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addOutputOption, print } from '../output.ts';
import { DEFAULT_STATE } from './agent-settings.ts';

export function registerAgentStatus(agent: Command): void {
  addOutputOption(
    agent
      .command('status')
      .description('enrollment, jobs and outbox of this agent')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(async (opts: { state: string; output: string }) => {
    const { agentStatus } = await import('../../edge-agent/status.ts');
    const { describeRefusals } = await import('../../edge-agent/review/refusals.ts');
    const { agentRolloutLines, agentRollouts } = await import('./rollout.ts');
    const s = { ...(await agentStatus(resolve(opts.state))), ...(await agentRollouts(resolve(opts.state))) };
    print(opts.output, s, () =>
      s.enrolled
        ? [
            `site ${s.siteId} (region ${s.regionId}), key ${s.keyId}, cloud ${s.cloudUrl}`,
            `jobs: ${s.jobs.pending} pending, ${s.jobs.reported} reported, ${s.jobs.failed} failed`,
            `outbox: ${s.outbox.held} held for review, ${s.outbox.pending} waiting to be sent, ${s.outbox.sent} sent, ${s.outbox.refused} refused by the cloud, ${s.outbox.rejected} rejected at review`,
            `requests logged: ${s.requestsLogged} (see \`cairn agent sent\`)`,
            ...s.refusedColumns.map(
              (r) =>
                `subgroup columns refused for job ${r.jobId} (campaign ${r.campaignId}): ${describeRefusals(r.columns)}`,
            ),
            ...agentRolloutLines(s),
          ].join('\n')
        : 'not enrolled',
    );
  });

  addOutputOption(
    agent
      .command('sent')
      .description('every request this agent sent, with its body exactly as sent')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE)
      .option('--limit <n>', 'most recent N', '20'),
  ).action(async (opts: { state: string; output: string; limit: string }) => {
    const decoded = await sentRequests(resolve(opts.state), Number(opts.limit));
    print(opts.output, decoded, () =>
      decoded
        .map(
          (r) =>
            `${r.at} ${r.method} ${r.url} → ${r.status ?? 'no answer'}${r.body ? `\n  ${r.body}` : ''}` +
            ('payload' in r ? `\n  payload (the signed report, decoded): ${JSON.stringify(r.payload)}` : ''),
        )
        .join('\n'),
    );
  });
}

/** The newest `limit` logged requests, bodies decoded to text and signed reports to their payload. */
async function sentRequests(stateDir: string, limit: number) {
  const { desc } = await import('drizzle-orm');
  const { sentLog } = await import('../../edge-agent/state/schema.ts');
  const { openAgentState } = await import('../../edge-agent/state/store.ts');
  const state = await openAgentState(stateDir);
  try {
    const rows = await state.db.select().from(sentLog).orderBy(desc(sentLog.id)).limit(limit).all();
    return rows.map((r) => {
      const body = r.body ? Buffer.from(r.body, 'base64').toString('utf8') : null;
      const payload = body === null ? undefined : signedPayload(body);
      return { ...r, body, ...(payload === undefined ? {} : { payload }) };
    });
  } finally {
    state.close();
  }
}

/**
 * The report inside a sent envelope, decoded from its base64 payload, so that what left the site can be read
 * as it was signed; undefined for a body that is not an envelope (an enrollment, a key rotation).
 */
function signedPayload(body: string): unknown {
  try {
    const envelope = JSON.parse(body) as { schema?: unknown; payload?: unknown };
    if (envelope.schema !== 'cairn.envelope/v1' || typeof envelope.payload !== 'string') return undefined;
    return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}
