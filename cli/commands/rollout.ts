import type { Command } from 'commander';
import type { KnownRollout } from '../../edge-agent/rollout-notices.ts';
import type { RolloutEventView, RolloutView } from '../../schemas/rollout.ts';
import { print } from '../output.ts';
import { api, apiCommand } from './api-command.ts';

interface RolloutFlags {
  cloud: string;
  token?: string;
  output: string;
  model: string;
  region: string;
}

/** One rollout as a line: what, where, its state, and what stands out (a concession, a proposal waiting). */
export function rolloutLine(r: RolloutView): string {
  const notes = [
    r.verdict ? `verdict ${r.verdict}` : null,
    r.concession ? `under concession: ${r.concession}` : null,
    r.pending ? `${r.pending.action} by ${r.pending.personId} awaits confirmation` : null,
    r.reviewDueAt && r.state !== 'review-due' ? `review due ${r.reviewDueAt}` : null,
  ].filter(Boolean);
  const what = `${r.vendor}/${r.name}@${r.version}`;
  return [r.modelId, r.regionId, what, r.state, notes.join('; ')].filter(Boolean).join('  ');
}

/** What `cairn agent status` adds: the rollout states of the site's region, as the agent last learnt them. */
export async function agentRollouts(stateDir: string) {
  const { readKnownRollouts } = await import('../../edge-agent/rollout-notices.ts');
  const known = readKnownRollouts(stateDir);
  return { rollouts: known.rollouts, rolloutNoticesWaiting: known.undelivered.length };
}

export function agentRolloutLines(s: { rollouts: KnownRollout[]; rolloutNoticesWaiting: number }): string[] {
  const concession = (r: KnownRollout) => (r.concession ? ` (under concession: ${r.concession})` : '');
  return [
    ...s.rollouts.map(
      (r) => `rollout ${r.vendor}/${r.name}@${r.version} in ${r.regionId}: ${r.state}${concession(r)}`,
    ),
    ...(s.rolloutNoticesWaiting
      ? [`rollout notices waiting for the webhook: ${s.rolloutNoticesWaiting}`]
      : []),
  ];
}

function eventLine(e: RolloutEventView): string {
  const who = e.personId ? `${e.personId} (${e.actor})` : e.actor;
  const concession = e.concession ? `; concession: ${e.concession}` : '';
  return `#${e.seq} ${e.at} ${e.action} ${e.from} -> ${e.to} by ${who}: ${e.reason}${concession}`;
}

function showText(r: { rollout: RolloutView; events: RolloutEventView[] }): string {
  return [
    rolloutLine(r.rollout),
    `model sha256 ${r.rollout.modelSha256}; evidence ${r.rollout.evidenceSha256 ?? 'none yet'}`,
    ...r.events.map(eventLine),
  ].join('\n');
}

const decisionPath = (o: RolloutFlags, action: string) =>
  `/v1/rollouts/${encodeURIComponent(o.model)}/${encodeURIComponent(o.region)}/${action}`;

/** `cairn rollout …`: the state of each model version per region, and the decisions people take on it. */
export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description('rollout of model versions per region: list, show, and the four-eyes decisions');
  apiCommand(rollout, 'list', 'every rollout this token sees, with its state')
    .option('--model <id>', 'only this model version')
    .option('--region <id>', 'only this region')
    .action(async (o: Partial<RolloutFlags> & { cloud: string; output: string }) => {
      const query = new URLSearchParams({
        ...(o.model ? { modelId: o.model } : {}),
        ...(o.region ? { regionId: o.region } : {}),
      }).toString();
      const r = await api(o).json<{ rollouts: RolloutView[] }>(
        'GET',
        `/v1/rollouts${query ? `?${query}` : ''}`,
      );
      print(o.output, r, () => (r.rollouts.length ? r.rollouts.map(rolloutLine).join('\n') : '(none)'));
    });
  apiCommand(rollout, 'show', 'one rollout with every decision taken on it')
    .requiredOption('--model <id>', 'the model version')
    .requiredOption('--region <id>', 'the region')
    .action(async (o: RolloutFlags) => {
      const r = await api(o).json<{ rollouts: { rollout: RolloutView; events: RolloutEventView[] }[] }>(
        'GET',
        `/v1/models/${encodeURIComponent(o.model)}/rollouts?regionId=${encodeURIComponent(o.region)}`,
      );
      print(o.output, r, () => r.rollouts.map(showText).join('\n\n'));
    });
  const decisions: [string, string][] = [
    ['approve', 'propose approval (a second person confirms); --concession when the verdict is not pass'],
    ['confirm', 'confirm the approval or reinstatement another person proposed'],
    ['deploy', 'mark an approved version as deployed in the region'],
    ['suspend', 'suspend at once (one person)'],
    ['reinstate', 'propose reinstating a suspended version (a second person confirms)'],
    ['withdraw', 'withdraw the version from the region for good'],
  ];
  for (const [action, description] of decisions) {
    const cmd = apiCommand(rollout, action, description)
      .requiredOption('--model <id>', 'the model version')
      .requiredOption('--region <id>', 'the region')
      .requiredOption('--reason <text>', 'why (recorded with the decision)')
      .option('--evidence <sha256>', 'refuse if the rollout now rests on other evidence than this');
    if (action === 'approve')
      cmd.option('--concession <justification>', 'approve although the verdict is not pass');
    cmd.action(async (o: RolloutFlags & { reason: string; concession?: string; evidence?: string }) => {
      const r = await api(o).json<{ rollout: RolloutView; events: RolloutEventView[] }>(
        'POST',
        decisionPath(o, action),
        { json: { reason: o.reason, concession: o.concession, evidenceSha256: o.evidence } },
      );
      print(o.output, r, () => rolloutLine(r.rollout));
    });
  }
}
