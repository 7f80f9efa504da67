/** `cairn agent run`: pull jobs, evaluate them on local data, send the signed aggregate reports. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { AgentEvents, JobOutcome } from '../../edge-agent/run.ts';
import { formatExcluded, progressLine, progressPrinter } from '../progress.ts';
import { DEFAULT_STATE, type SettingsFlags, settingsFromFlags, withSettingsFlags } from './agent-settings.ts';

type RunFlags = SettingsFlags & { once?: boolean; retryFailed?: boolean; state: string };

export function registerAgentRun(agent: Command): void {
  withSettingsFlags(
    agent
      .command('run')
      .description('pull jobs, evaluate on local data, send signed aggregate reports')
      .option('--once', 'one pass, then exit')
      .option('--retry-failed', 'run this site’s failed jobs again (after fixing its data)')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(run);
}

async function run(opts: RunFlags): Promise<void> {
  const { runAgent } = await import('../../edge-agent/run.ts');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const outcomes = await runAgent({
    stateDir: resolve(opts.state),
    overrides: settingsFromFlags(opts),
    once: Boolean(opts.once),
    retryFailed: Boolean(opts.retryFailed),
    signal: controller.signal,
    events: printedEvents(),
  });
  // A failed job is that job's outcome, reported to the cloud; the agent itself ran fine (exit 0).
  const failed = outcomes.filter((o) => o.status === 'failed').length;
  if (failed)
    process.stderr.write(
      `${failed} job(s) failed (codes above, also told to the cloud); once the data is fixed: cairn agent run --once --retry-failed\n`,
    );
}

/** The agent's events as PHI-free lines on stderr: one progress line per job, then its outcome. */
function printedEvents(): AgentEvents {
  const printers = new Map<string, ReturnType<typeof progressPrinter>>();
  return {
    jobStarted(job) {
      printers.set(job.jobId, progressPrinter(`job ${job.jobId}: `));
      const m = job.model.manifest;
      process.stderr.write(`job ${job.jobId}: evaluating ${m.vendor}/${m.name} ${m.version}\n`);
    },
    progress(p) {
      printers.get(p.jobId)?.update(progressLine(p));
    },
    jobFinished(o) {
      (printers.get(o.jobId) ?? progressPrinter(`job ${o.jobId}: `)).done(outcomeLine(o));
    },
    flushed(r) {
      if (r.sent || r.refused || r.pending || r.held)
        process.stderr.write(
          `outbox: ${r.sent} sent, ${r.refused} refused, ${r.pending} waiting for the network, ${r.held} held for review\n`,
        );
    },
    statusesSent(r) {
      if (r.refused || r.waiting)
        process.stderr.write(
          `job statuses: ${r.sent} sent, ${r.refused} refused, ${r.waiting} waiting for the network\n`,
        );
    },
    offline(message) {
      process.stderr.write(`offline: ${message}; work continues and reports wait in the outbox\n`);
    },
  };
}

function outcomeLine(o: JobOutcome): string {
  if (o.status !== 'reported')
    return `failed: ${o.failure}${o.detail ? ` (${o.detail.split('\n')[0]})` : ''}; the cloud is told the code, the other jobs go on`;
  const release =
    o.release === 'held'
      ? 'report held for review (`cairn agent review`)'
      : 'report approved by the site policy';
  const cases =
    o.cases === null || o.cases === undefined
      ? `cases withheld (${o.withheld?.join(' and ') ?? 'a class'} below the minimum cell size)`
      : `${o.cases} cases`;
  return `${cases} on ${o.provider} in ${o.seconds?.toFixed(1)} s; excluded ${formatExcluded(o.excluded)}; ${release}`;
}
