import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';

/** `agent review` (what leaves, decided by a person) and `agent rotate-key` (the site's signing identity). */
export function registerAgentTrustCommands(agent: Command, defaultState: string): void {
  addOutputOption(
    agent
      .command('review')
      .description('show the reports waiting to leave, exactly as they would be sent; approve or reject each')
      .option('--approve <reportId>', 'let this report leave on the next run')
      .option('--reject <reportId>', 'never send this report')
      .option('--state <dir>', 'agent state folder', defaultState),
  ).action(async (opts: { approve?: string; reject?: string; state: string; output: string }) => {
    if (opts.approve && opts.reject) throw new CliError('give --approve or --reject, not both');
    const { decideHeldReport, listHeldReports, renderHeldReport } = await import(
      '../../edge-agent/review/review.ts'
    );
    const { openAgentState } = await import('../../edge-agent/state/store.ts');
    const state = await openAgentState(resolve(opts.state));
    try {
      if (opts.approve || opts.reject) {
        const id = (opts.approve ?? opts.reject) as string;
        await decideHeldReport(state.db, id, opts.approve ? 'approve' : 'reject');
        print(opts.output, { reportId: id, decision: opts.approve ? 'approved' : 'rejected' }, () =>
          opts.approve
            ? `report ${id} approved; it leaves on the next \`cairn agent run\``
            : `report ${id} rejected; it will never be sent`,
        );
        return;
      }
      const held = await listHeldReports(state.db);
      print(
        opts.output,
        held.map((h) => ({
          reportId: h.reportId,
          jobId: h.jobId,
          createdAt: h.createdAt,
          refusedColumns: h.refused,
          bytes: h.bytes,
        })),
        () =>
          held.length
            ? `${held.map(renderHeldReport).join('\n\n')}\n\napprove: cairn agent review --approve <reportId>   reject: --reject <reportId>`
            : 'no reports are waiting for review',
      );
    } finally {
      state.close();
    }
  });

  addOutputOption(
    agent
      .command('rotate-key')
      .description('replace this site’s signing key (the request is signed by the current key)')
      .option('--state <dir>', 'agent state folder', defaultState),
  ).action(async (opts: { state: string; output: string }) => {
    const { CloudApi } = await import('../../client/cloud-api.ts');
    const { logSentBytes } = await import('../../edge-agent/sent-log.ts');
    const { rotateSiteKey } = await import('../../edge-agent/site-key.ts');
    const { identity } = await import('../../edge-agent/state/schema.ts');
    const { openAgentState } = await import('../../edge-agent/state/store.ts');
    const state = await openAgentState(resolve(opts.state));
    try {
      const me = await state.db.select().from(identity).get();
      if (!me) throw new CliError('this agent is not enrolled yet');
      const api = new CloudApi(me.cloudUrl, me.apiToken, logSentBytes(state.db));
      const rotated = await rotateSiteKey(state.db, api, resolve(opts.state));
      print(
        opts.output,
        { keyId: rotated.keyId, retiredKeyId: rotated.retiredKeyId, rotatedAt: rotated.rotatedAt },
        () => `new key ${rotated.keyId} in use; ${rotated.retiredKeyId} retired`,
      );
    } finally {
      state.close();
    }
  });
}
