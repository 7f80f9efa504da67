import { resolve } from 'node:path';
import type { Command } from 'commander';
import { desc } from 'drizzle-orm';
import type { AgentSettings } from '../../edge-agent/config.ts';
import { enrollAgent } from '../../edge-agent/enroll.ts';
import { runAgent } from '../../edge-agent/run.ts';
import { sentLog } from '../../edge-agent/state/schema.ts';
import { openAgentState } from '../../edge-agent/state/store.ts';
import { agentStatus } from '../../edge-agent/status.ts';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';
import { progressPrinter } from '../progress.ts';

const DEFAULT_STATE = process.env.CAIRN_AGENT_STATE ?? '.cairn/agent';

interface SettingsFlags {
  dicom?: string;
  labels?: string;
  minCell?: string;
  device?: string;
  threads?: string;
  batchSize?: string;
}

function settingsFromFlags(f: SettingsFlags): Partial<AgentSettings> {
  const int = (name: string, v?: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new CliError(`--${name}: ${v} is not a whole number`);
    return n;
  };
  return {
    dicom: f.dicom,
    labels: f.labels,
    minCell: int('min-cell', f.minCell),
    device: f.device as AgentSettings['device'] | undefined,
    threads: int('threads', f.threads),
    batchSize: int('batch-size', f.batchSize),
  };
}

const withSettingsFlags = (cmd: Command) =>
  cmd
    .option('--dicom <dir>', 'folder of DICOM files (read recursively)')
    .option('--labels <file>', 'labels.csv with StudyInstanceUID,label')
    .option('--min-cell <k>', 'minimum cell size for released counts')
    .option('--device <device>', 'auto, cpu, webgpu or cuda')
    .option('--threads <n>', 'inference threads')
    .option('--batch-size <n>', 'images per inference batch');

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('the hospital edge agent');

  withSettingsFlags(
    agent
      .command('enroll')
      .description('make this site’s key pair and enroll with the cloud using a one-time token')
      .requiredOption('--cloud <url>', 'the cloud’s base URL')
      .requiredOption('--token <token>', 'the one-time enrollment token a coordinator issued for this site')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(async (opts: SettingsFlags & { cloud: string; token: string; state: string }) => {
    const overrides = settingsFromFlags(opts);
    if (!overrides.dicom || !overrides.labels)
      throw new CliError('enroll needs --dicom <dir> and --labels <file>');
    const { AgentSettings } = await import('../../edge-agent/config.ts');
    const settings = AgentSettings.parse(
      Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
    );
    settings.dicom = resolve(settings.dicom);
    settings.labels = resolve(settings.labels);
    const res = await enrollAgent({
      stateDir: resolve(opts.state),
      cloudUrl: opts.cloud,
      token: opts.token,
      settings,
    });
    process.stdout.write(`enrolled as site ${res.siteId} (region ${res.regionId}), key ${res.keyId}\n`);
  });

  withSettingsFlags(
    agent
      .command('run')
      .description('pull jobs, evaluate on local data, send signed aggregate reports')
      .option('--once', 'one pass, then exit')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(async (opts: SettingsFlags & { once?: boolean; state: string }) => {
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    process.once('SIGTERM', () => controller.abort());
    const started = new Map<string, number>();
    const printers = new Map<string, ReturnType<typeof progressPrinter>>();
    const outcomes = await runAgent({
      stateDir: resolve(opts.state),
      overrides: settingsFromFlags(opts),
      once: Boolean(opts.once),
      signal: controller.signal,
      events: {
        jobStarted(job) {
          started.set(job.jobId, performance.now());
          printers.set(job.jobId, progressPrinter(`job ${job.jobId}: `));
          const m = job.model.manifest;
          process.stderr.write(`job ${job.jobId}: evaluating ${m.vendor}/${m.name} ${m.version}\n`);
        },
        progress(p) {
          const secs = (performance.now() - (started.get(p.jobId) ?? performance.now())) / 1000;
          const rate = secs > 0 ? (p.imagesInferred / secs).toFixed(1) : '0';
          printers
            .get(p.jobId)
            ?.update(
              `${p.filesSeen} files read, ${p.imagesInferred} images inferred, ${p.excluded} excluded (${rate} img/s)`,
            );
        },
        jobFinished(o) {
          const line =
            o.status === 'reported'
              ? `${o.cases} cases on ${o.provider} in ${o.seconds?.toFixed(1)} s; excluded ${formatExcluded(o.excluded)}; report queued`
              : `failed: ${o.failure}`;
          (printers.get(o.jobId) ?? progressPrinter(`job ${o.jobId}: `)).done(line);
        },
        flushed(r) {
          if (r.sent || r.refused || r.pending)
            process.stderr.write(`outbox: ${r.sent} sent, ${r.refused} refused, ${r.pending} waiting\n`);
        },
        offline(message) {
          process.stderr.write(`offline: ${message}; work continues and reports wait in the outbox\n`);
        },
      },
    });
    if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
  });

  addOutputOption(
    agent
      .command('status')
      .description('enrollment, jobs and outbox of this agent')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(async (opts: { state: string; output: string }) => {
    const s = await agentStatus(resolve(opts.state));
    print(opts.output, s, () =>
      s.enrolled
        ? [
            `site ${s.siteId} (region ${s.regionId}), key ${s.keyId}, cloud ${s.cloudUrl}`,
            `jobs: ${s.jobs.pending} pending, ${s.jobs.reported} reported, ${s.jobs.failed} failed`,
            `outbox: ${s.outbox.pending} waiting, ${s.outbox.sent} sent, ${s.outbox.refused} refused`,
            `requests logged: ${s.requestsLogged} (see \`cairn agent sent\`)`,
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
    const state = await openAgentState(resolve(opts.state));
    try {
      const rows = await state.db
        .select()
        .from(sentLog)
        .orderBy(desc(sentLog.id))
        .limit(Number(opts.limit))
        .all();
      const decoded = rows.map((r) => ({
        ...r,
        body: r.body ? Buffer.from(r.body, 'base64').toString('utf8') : null,
      }));
      print(opts.output, decoded, () =>
        decoded
          .map(
            (r) =>
              `${r.at} ${r.method} ${r.url} → ${r.status ?? 'no answer'}${r.body ? `\n  ${r.body}` : ''}`,
          )
          .join('\n'),
      );
    } finally {
      state.close();
    }
  });
}

function formatExcluded(excluded: Record<string, number> = {}): string {
  const parts = Object.entries(excluded).map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'none';
}
