import { resolve } from 'node:path';
import type { Command } from 'commander';
import { desc } from 'drizzle-orm';
import type { AgentSettings } from '../../edge-agent/config.ts';
import { enrollAgent } from '../../edge-agent/enroll.ts';
import type { PipelineProgress } from '../../edge-agent/pipeline/score-folder.ts';
import {
  describeReleasePolicy,
  loadReleasePolicyFile,
  writeReleasePolicy,
} from '../../edge-agent/review/policy.ts';
import { describeRefusals } from '../../edge-agent/review/refusals.ts';
import { runAgent } from '../../edge-agent/run.ts';
import { sentLog } from '../../edge-agent/state/schema.ts';
import { openAgentState } from '../../edge-agent/state/store.ts';
import { agentStatus } from '../../edge-agent/status.ts';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';
import { progressPrinter } from '../progress.ts';
import { registerAgentTrustCommands } from './agent-trust.ts';
import { agentRolloutLines, agentRollouts } from './rollout.ts';

const DEFAULT_STATE = process.env.CAIRN_AGENT_STATE ?? '.cairn/agent';

interface SettingsFlags {
  dicom?: string;
  dicomwebUrl?: string;
  studyDateFrom?: string;
  studyDateTo?: string;
  workers?: string;
  labels?: string;
  minCell?: string;
  device?: string;
  threads?: string;
  batchSize?: string;
  dpEpsilon?: string;
  dpBudget?: string;
  requireSignedModels?: boolean;
  releaseColumns?: string;
}

function settingsFromFlags(f: SettingsFlags): Partial<AgentSettings> {
  const int = (name: string, v?: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new CliError(`--${name}: ${v} is not a whole number`);
    return n;
  };
  const positive = (name: string, v?: string) => {
    const n = Number(v);
    if (!(n > 0)) throw new CliError(`--${name}: ${v} is not a positive number`);
    return n;
  };
  if (Boolean(f.dpEpsilon) !== Boolean(f.dpBudget))
    throw new CliError('differential privacy needs both --dp-epsilon and --dp-budget');
  return {
    ...(f.dpEpsilon
      ? {
          dp: {
            epsilonPerReport: positive('dp-epsilon', f.dpEpsilon),
            budgetPerCampaign: positive('dp-budget', f.dpBudget),
          },
        }
      : {}),
    ...(f.requireSignedModels ? { requireSignedModels: true } : {}),
    ...(f.releaseColumns !== undefined ? { releaseColumns: columnList(f.releaseColumns) } : {}),
    dicom: f.dicom,
    dicomweb: f.dicomwebUrl
      ? {
          url: f.dicomwebUrl,
          ...(f.studyDateFrom ? { studyDateFrom: f.studyDateFrom } : {}),
          ...(f.studyDateTo ? { studyDateTo: f.studyDateTo } : {}),
        }
      : undefined,
    workers: int('workers', f.workers),
    labels: f.labels,
    minCell: int('min-cell', f.minCell),
    device: f.device as AgentSettings['device'] | undefined,
    threads: int('threads', f.threads),
    batchSize: int('batch-size', f.batchSize),
  };
}

/** `scannerSite, insurance` → ['scannerSite', 'insurance']; names are validated with the settings. */
function columnList(v: string): string[] {
  return v
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

const withSettingsFlags = (cmd: Command) =>
  cmd
    .option('--dicom <dir>', 'folder of DICOM files (read recursively)')
    .option('--dicomweb-url <url>', 'a PACS over DICOMweb instead of a folder (QIDO-RS + WADO-RS)')
    .option('--study-date-from <YYYYMMDD>', 'DICOMweb: first study date')
    .option('--study-date-to <YYYYMMDD>', 'DICOMweb: last study date')
    .option('--workers <n>', 'decode worker threads')
    .option('--labels <file>', 'labels.csv with StudyInstanceUID,label')
    .option('--min-cell <k>', 'minimum cell size for released counts')
    .option('--device <device>', 'auto, cpu, webgpu or cuda')
    .option('--threads <n>', 'inference threads')
    .option('--batch-size <n>', 'images per inference batch')
    .option('--dp-epsilon <e>', 'differential privacy: ε spent per report (with --dp-budget)')
    .option('--dp-budget <e>', 'differential privacy: the most ε spent on one campaign')
    .option('--require-signed-models', 'run only models with a valid vendor signature')
    .option(
      '--release-columns <names>',
      'labels.csv columns campaigns may report subgroups by, comma-separated (default: none)',
    );

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('the hospital edge agent');
  registerAgentTrustCommands(agent, DEFAULT_STATE);

  withSettingsFlags(
    agent
      .command('enroll')
      .description('make this site’s key pair and enroll with the cloud using a one-time token')
      .requiredOption('--cloud <url>', 'the cloud’s base URL')
      .requiredOption('--token <token>', 'the one-time enrollment token a coordinator issued for this site')
      .option(
        '--release-policy <file>',
        'a written policy that pre-approves some reports (default: review all)',
      )
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(
    async (opts: SettingsFlags & { cloud: string; token: string; state: string; releasePolicy?: string }) => {
      const overrides = settingsFromFlags(opts);
      if ((!overrides.dicom && !overrides.dicomweb) || !overrides.labels)
        throw new CliError('enroll needs --dicom <dir> (or --dicomweb-url <url>) and --labels <file>');
      const { AgentSettings } = await import('../../edge-agent/config.ts');
      const parsed = AgentSettings.safeParse(
        Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
      );
      if (!parsed.success)
        throw new CliError(
          `invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; ')}`,
        );
      const settings = parsed.data;
      if (settings.dicom) settings.dicom = resolve(settings.dicom);
      settings.labels = resolve(settings.labels);
      // Checked before enrolling: a bad policy must not leave a half-configured agent behind.
      const policy = opts.releasePolicy ? loadReleasePolicyFile(opts.releasePolicy) : null;
      const res = await enrollAgent({
        stateDir: resolve(opts.state),
        cloudUrl: opts.cloud,
        token: opts.token,
        settings,
      });
      if (policy) writeReleasePolicy(resolve(opts.state), policy);
      process.stdout.write(`enrolled as site ${res.siteId} (region ${res.regionId}), key ${res.keyId}\n`);
      for (const w of res.warnings) process.stdout.write(`warning: ${w}\n`);
      process.stdout.write(
        policy
          ? `release policy: ${describeReleasePolicy(policy)}\n`
          : 'release policy: none — every report waits for `cairn agent review`\n',
      );
      process.stdout.write(
        settings.releaseColumns.length
          ? `labels.csv columns campaigns may report subgroups by: ${settings.releaseColumns.join(', ')} (refused if their values look identifying)\n`
          : 'labels.csv columns campaigns may report subgroups by: none (--release-columns to allow some)\n',
      );
    },
  );

  withSettingsFlags(
    agent
      .command('run')
      .description('pull jobs, evaluate on local data, send signed aggregate reports')
      .option('--once', 'one pass, then exit')
      .option('--retry-failed', 'run this site’s failed jobs again (after fixing its data)')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(async (opts: SettingsFlags & { once?: boolean; retryFailed?: boolean; state: string }) => {
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    process.once('SIGTERM', () => controller.abort());
    const started = new Map<string, number>();
    const printers = new Map<string, ReturnType<typeof progressPrinter>>();
    const outcomes = await runAgent({
      stateDir: resolve(opts.state),
      overrides: settingsFromFlags(opts),
      once: Boolean(opts.once),
      retryFailed: Boolean(opts.retryFailed),
      signal: controller.signal,
      events: {
        jobStarted(job) {
          started.set(job.jobId, performance.now());
          printers.set(job.jobId, progressPrinter(`job ${job.jobId}: `));
          const m = job.model.manifest;
          process.stderr.write(`job ${job.jobId}: evaluating ${m.vendor}/${m.name} ${m.version}\n`);
        },
        progress(p) {
          printers.get(p.jobId)?.update(progressLine(p));
        },
        jobFinished(o) {
          const release =
            o.release === 'held'
              ? 'report held for review (`cairn agent review`)'
              : 'report approved by the site policy';
          const cases =
            o.cases === null || o.cases === undefined
              ? `cases withheld (${o.withheld?.join(' and ') ?? 'a class'} below the minimum cell size)`
              : `${o.cases} cases`;
          const line =
            o.status === 'reported'
              ? `${cases} on ${o.provider} in ${o.seconds?.toFixed(1)} s; excluded ${formatExcluded(o.excluded)}; ${release}`
              : `failed: ${o.failure}${o.detail ? ` (${o.detail.split('\n')[0]})` : ''}; the cloud is told the code, the other jobs go on`;
          (printers.get(o.jobId) ?? progressPrinter(`job ${o.jobId}: `)).done(line);
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
      },
    });
    // A failed job is that job's outcome, reported to the cloud; the agent itself ran fine (exit 0).
    const failed = outcomes.filter((o) => o.status === 'failed').length;
    if (failed)
      process.stderr.write(
        `${failed} job(s) failed (codes above, also told to the cloud); once the data is fixed: cairn agent run --once --retry-failed\n`,
      );
  });

  addOutputOption(
    agent
      .command('doctor')
      .description('which execution providers work here, the chosen one, threads, and a throughput probe')
      .option('--device <device>', 'auto, cpu, webgpu or cuda', 'auto')
      .option('--threads <n>', 'inference threads')
      .option('--seconds <s>', 'length of the throughput probe (0: none)', '10'),
  ).action(async (opts: { device: string; threads?: string; seconds: string; output: string }) => {
    const device = parseDevice(opts.device);
    const { doctor } = await import('../../edge-agent/pipeline/doctor.ts');
    const r = await doctor({
      device,
      seconds: Number(opts.seconds),
      ...(opts.threads ? { threads: Number(opts.threads) } : {}),
    });
    print(opts.output, r, () =>
      [
        ...r.providers.map((p) => `${p.provider.padEnd(7)} ${p.works ? 'works' : `no: ${p.reason}`}`),
        `chosen: ${r.chosen ?? `none (device ${r.device})`}; ${r.threads} inference threads, ${r.workers} decode workers, ${r.cores} cores`,
        r.probe
          ? `probe: ${r.probe.model} batch ${r.probe.batch}: ${r.probe.imagesPerSecond.toFixed(1)} img/s (${r.probe.images} images in ${r.probe.seconds.toFixed(1)} s, inference only)`
          : 'probe: not run',
      ].join('\n'),
    );
    if (!r.chosen) process.exitCode = 1;
  });

  withSettingsFlags(
    addOutputOption(
      agent
        .command('score')
        .description('score local images with a model, without a cloud (a trial run; PHI-free summary)')
        .requiredOption('--manifest <file>', 'the model manifest (cairn.model/v1 JSON)')
        .requiredOption('--onnx <file>', 'the ONNX model')
        .option('--state <dir>', 'agent state folder (holds the prediction cache)', DEFAULT_STATE),
    ),
  ).action(
    async (opts: SettingsFlags & { manifest: string; onnx: string; state: string; output: string }) => {
      const { readFileSync } = await import('node:fs');
      const { ModelManifest } = await import('../../schemas/model-manifest.ts');
      const { scoreFolder, predictionCacheKey } = await import('../../edge-agent/pipeline/score-folder.ts');
      const { predictionCache } = await import('../../edge-agent/state/predictions.ts');
      const { folderSource } = await import('../../edge-agent/sources/folder.ts');
      const { dicomWebSource } = await import('../../edge-agent/sources/dicomweb.ts');
      const { JobFailure } = await import('../../edge-agent/pipeline/job-failure.ts');
      const flags = settingsFromFlags(opts);
      if (Boolean(flags.dicom) === Boolean(flags.dicomweb))
        throw new CliError('score needs exactly one of --dicom <dir> or --dicomweb-url <url>');
      let manifest: ReturnType<typeof ModelManifest.parse>;
      try {
        manifest = ModelManifest.parse(JSON.parse(readFileSync(opts.manifest, 'utf8')));
      } catch {
        throw new CliError(`--manifest: ${opts.manifest} is not a valid cairn.model/v1 manifest`);
      }
      const model = new Uint8Array(readFileSync(opts.onnx));
      const auth = process.env.CAIRN_DICOMWEB_AUTHORIZATION;
      const source = flags.dicom
        ? folderSource(resolve(flags.dicom))
        : dicomWebSource({
            ...flags.dicomweb!,
            modalities: manifest.modality,
            ...(auth ? { headers: { authorization: auth } } : {}),
          });
      const state = await openAgentState(resolve(opts.state));
      const printer = progressPrinter('score: ');
      try {
        const r = await scoreFolder({
          source,
          manifest,
          model,
          device: parseDevice(opts.device ?? 'auto'),
          ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
          ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
          ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
          cache: predictionCache(state.db, predictionCacheKey(model, manifest)),
          onProgress: (p) => printer.update(progressLine(p)),
        }).catch((err: unknown) => {
          // A folder that cannot be read is the user's input: one line (the message names no path).
          // The failure's message starts with its code.
          if (err instanceof JobFailure) throw new CliError(err.message);
          throw err;
        });
        const summary = {
          provider: r.provider,
          batchSize: r.batchSize,
          studies: r.studyScores.size,
          images: r.images,
          inferred: r.inferred,
          cached: r.cached,
          excluded: r.excluded,
          seconds: r.stages.wall,
        };
        printer.done(
          `${summary.studies} studies, ${r.images.used}/${r.images.seen} images used (${r.inferred} inferred, ${r.cached} cached) on ${r.provider} in ${r.stages.wall.toFixed(1)} s`,
        );
        print(
          opts.output,
          summary,
          () => `excluded: ${formatExcluded(r.excluded as Record<string, number>)}`,
        );
      } finally {
        state.close();
      }
    },
  );

  addOutputOption(
    agent
      .command('status')
      .description('enrollment, jobs and outbox of this agent')
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(async (opts: { state: string; output: string }) => {
    const s = { ...(await agentStatus(resolve(opts.state))), ...agentRollouts(resolve(opts.state)) };
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
    const state = await openAgentState(resolve(opts.state));
    try {
      const rows = await state.db
        .select()
        .from(sentLog)
        .orderBy(desc(sentLog.id))
        .limit(Number(opts.limit))
        .all();
      const decoded = rows.map((r) => {
        const body = r.body ? Buffer.from(r.body, 'base64').toString('utf8') : null;
        const payload = body === null ? undefined : signedPayload(body);
        return { ...r, body, ...(payload === undefined ? {} : { payload }) };
      });
      print(opts.output, decoded, () =>
        decoded
          .map(
            (r) =>
              `${r.at} ${r.method} ${r.url} → ${r.status ?? 'no answer'}${r.body ? `\n  ${r.body}` : ''}` +
              ('payload' in r
                ? `\n  payload (the signed report, decoded): ${JSON.stringify(r.payload)}`
                : ''),
          )
          .join('\n'),
      );
    } finally {
      state.close();
    }
  });
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

/** One PHI-free progress line: counts, rates and reasons only. */
export function progressLine(p: PipelineProgress): string {
  const total = p.filesTotal !== undefined ? `/${p.filesTotal}` : '';
  const eta = p.etaSeconds !== undefined ? `, ETA ${formatSeconds(p.etaSeconds)}` : '';
  return (
    `${p.filesSeen}${total} files scanned, ${p.framesDecoded} decoded, ${p.imagesInferred} inferred, ` +
    `${p.cached} cached, ${p.excluded} excluded (${p.imagesPerSecond.toFixed(1)} img/s${eta})` +
    (p.excluded ? `; excluded: ${formatExcluded(p.excludedByReason as Record<string, number>)}` : '')
  );
}

function parseDevice(v: string): AgentSettings['device'] {
  if (v === 'auto' || v === 'cpu' || v === 'webgpu' || v === 'cuda') return v;
  throw new CliError(`--device: ${v} is not one of auto, cpu, webgpu, cuda`);
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function formatExcluded(excluded: Record<string, number> = {}): string {
  const parts = Object.entries(excluded).map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'none';
}
