import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CloudApi } from '../../client/cloud-api.ts';
import type { Comparison } from '../../schemas/comparison.ts';
import type { Criteria } from '../../schemas/criteria.ts';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { Scenario } from '../../schemas/scenario.ts';
import { submitModel } from '../commands/network.ts';
import { CliError } from '../errors.ts';
import { CAIRN_BIN, type CloudProcess, startCloudProcess } from './cloud-process.ts';
import { type GovernanceEnding, governanceEnding } from './governance-ending.ts';
import { scenarioCriteria } from './scenario-criteria.ts';

export interface ScenarioRun {
  comparison: Comparison;
  governance: GovernanceEnding;
  campaignId: string;
  cloud: CloudProcess;
}

type Say = (line: string) => void;

interface ResolvedScenario {
  bins: number;
  minCell: number;
  models: { manifestPath: string; onnxPath: string; manifest: ModelManifest }[];
  sites: { id: string; region: string; dicom: string; labels: string }[];
  regions: string[];
  criteria?: Criteria;
}

/** Reads and checks a scenario file; every problem is reported together, paths resolved against the file. */
export function loadScenario(file: string): ResolvedScenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(
      `scenario ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not valid JSON'}`,
    );
  }
  const parsed = Scenario.safeParse(raw);
  if (!parsed.success)
    throw new CliError(
      `scenario ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  const base = dirname(resolve(file));
  const problems: string[] = [];
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  const models = parsed.data.models.map((m, i) => {
    const manifestPath = resolve(base, m.manifest);
    const onnxPath = resolve(base, m.onnx);
    if (!isFile(onnxPath)) problems.push(`models.${i}.onnx: ${m.onnx} is not a file`);
    let manifest: ModelManifest | undefined;
    if (!isFile(manifestPath)) problems.push(`models.${i}.manifest: ${m.manifest} is not a file`);
    else {
      try {
        const check = ModelManifest.safeParse(JSON.parse(readFileSync(manifestPath, 'utf8')));
        if (check.success) manifest = check.data;
        else
          problems.push(
            `models.${i}.manifest: ${check.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join(', ')}`,
          );
      } catch {
        problems.push(`models.${i}.manifest: not valid JSON`);
      }
    }
    return { manifestPath, onnxPath, manifest: manifest as ModelManifest };
  });
  const sites = parsed.data.regions.flatMap((r) =>
    r.sites.map((s) => {
      const dicom = resolve(base, s.dicom);
      const labels = resolve(base, s.labels);
      if (!existsSync(dicom) || !statSync(dicom).isDirectory())
        problems.push(`site ${s.id}: dicom ${s.dicom} is not a folder`);
      if (!isFile(labels)) problems.push(`site ${s.id}: labels ${s.labels} is not a file`);
      return { id: s.id, region: r.id, dicom, labels };
    }),
  );
  const criteria = scenarioCriteria(parsed.data.criteria, base, problems);
  if (problems.length) throw new CliError(`scenario ${file}: ${problems.join('; ')}`);
  return {
    ...(criteria ? { criteria } : {}),
    bins: parsed.data.bins,
    minCell: parsed.data.minCell,
    models,
    sites,
    regions: parsed.data.regions.map((r) => r.id),
  };
}

/**
 * Runs a whole network on this machine: the cloud as one process, one agent process per site, all over HTTP
 * on localhost. Everything the cloud stored stays under `<out>/cloud`, each agent's state under
 * `<out>/sites/<id>`, and the comparison is written to `<out>/comparison.json`.
 */
export async function runScenario(opts: {
  scenarioFile: string;
  outDir: string;
  keep?: boolean;
  concurrency?: number;
  say?: Say;
}): Promise<ScenarioRun> {
  const say: Say = opts.say ?? ((l) => process.stderr.write(`${l}\n`));
  const scenario = loadScenario(opts.scenarioFile);
  const out = resolve(opts.outDir);
  if (existsSync(join(out, 'cloud')) && readdirSync(join(out, 'cloud')).length)
    throw new CliError(`${out} already holds a run; choose an empty --out folder`);
  mkdirSync(join(out, 'sites'), { recursive: true });

  const cloud = await startCloudProcess(join(out, 'cloud'), { detached: opts.keep });
  say(`cloud: ${cloud.url} (pid ${cloud.pid}, data ${join(out, 'cloud')})`);
  try {
    const admin = new CloudApi(cloud.url, readFileSync(cloud.adminTokenPath, 'utf8').trim());

    for (const region of scenario.regions)
      await admin.json('POST', '/v1/regions', { json: { id: region, name: region } });
    for (const site of scenario.sites)
      await admin.json('POST', '/v1/sites', { json: { id: site.id, regionId: site.region, name: site.id } });

    const modelIds = await submitScenarioModels(cloud.url, admin, scenario, say);

    const coordinatorToken = (
      await admin.json<{ token: string }>('POST', '/v1/tokens', {
        json: { role: 'coordinator', label: 'scenario coordinator' },
      })
    ).token;
    const coordinator = new CloudApi(cloud.url, coordinatorToken);
    const campaign = await coordinator.json<{ campaignId: string; jobs: unknown[] }>(
      'POST',
      '/v1/campaigns',
      {
        json: {
          name: 'scenario',
          modelIds,
          siteIds: scenario.sites.map((s) => s.id),
          bins: scenario.bins,
          minCell: scenario.minCell,
          ...(scenario.criteria ? { criteria: scenario.criteria } : {}),
        },
      },
    );
    say(
      `coordinator: campaign ${campaign.campaignId}, ${campaign.jobs.length} jobs (${modelIds.length} models × ${scenario.sites.length} sites)`,
    );
    const policyFile = writeAutoApprovePolicy(out, campaign.campaignId, scenario.minCell, say);

    const failures = await runSiteAgents({
      coordinator,
      cloudUrl: cloud.url,
      out,
      policyFile,
      scenario,
      concurrency: Math.max(1, opts.concurrency ?? 2),
      say,
    });
    if (failures.length) throw new CliError(`some agents failed: ${failures.join('; ')}`);

    await waitForReports(coordinator, campaign.campaignId);
    const comparison = await coordinator.json<Comparison>(
      'GET',
      `/v1/campaigns/${campaign.campaignId}/comparison`,
    );
    writeFileSync(join(out, 'comparison.json'), `${JSON.stringify(comparison, null, 2)}\n`);
    const governance = await governanceEnding(admin, campaign.campaignId, comparison, out);
    if (!opts.keep) await cloud.stop();
    return { comparison, governance, campaignId: campaign.campaignId, cloud };
  } catch (err) {
    await cloud.stop();
    throw err;
  }
}

/**
 * Nothing leaves an agent unreviewed by default; a scenario run pre-approves this campaign's reports in a
 * written policy, and says so. Returns the policy file.
 */
function writeAutoApprovePolicy(out: string, campaignId: string, minCell: number, say: Say): string {
  const policyFile = join(out, 'release-policy.json');
  const policy = {
    schema: 'cairn.release-policy/v1',
    autoApprove: [{ campaign: campaignId, minCellAtLeast: minCell }],
  };
  writeFileSync(policyFile, `${JSON.stringify(policy, null, 2)}\n`);
  say(
    `agents: AUTO-APPROVE policy for this run (${policyFile}): campaign ${campaignId} reports with minimum cell size ≥ ${minCell} leave without review, after the privacy gate`,
  );
  return policyFile;
}

/** Each vendor submits its own models with its own token, as vendors do; the model ids in scenario order. */
async function submitScenarioModels(
  cloudUrl: string,
  admin: CloudApi,
  scenario: ResolvedScenario,
  say: Say,
): Promise<string[]> {
  const modelIds: string[] = [];
  const vendorTokens = new Map<string, string>();
  for (const model of scenario.models) {
    const vendor = model.manifest.vendor;
    if (!vendorTokens.has(vendor)) {
      await admin.json('POST', '/v1/vendors', { json: { id: vendor, name: vendor } });
      const t = await admin.json<{ token: string }>('POST', '/v1/tokens', {
        json: { role: 'vendor', vendorId: vendor, label: `${vendor} (scenario)` },
      });
      vendorTokens.set(vendor, t.token);
    }
    const submitted = await submitModel(
      new CloudApi(cloudUrl, vendorTokens.get(vendor)),
      model.manifestPath,
      model.onnxPath,
    );
    modelIds.push(submitted.modelId);
    say(
      `vendor ${vendor}: submitted ${model.manifest.name} ${model.manifest.version} (sha256 ${submitted.sha256.slice(0, 12)}…)`,
    );
  }
  return modelIds;
}

interface SiteAgentsRun {
  coordinator: CloudApi;
  cloudUrl: string;
  out: string;
  policyFile: string;
  scenario: ResolvedScenario;
  concurrency: number;
  say: Say;
}

/** Enrolls and runs one agent process per site, `concurrency` at a time; one line per agent that failed. */
async function runSiteAgents({
  coordinator,
  cloudUrl,
  out,
  policyFile,
  scenario,
  concurrency,
  say,
}: SiteAgentsRun): Promise<string[]> {
  const queue = [...scenario.sites];
  const failures: string[] = [];
  const worker = async () => {
    for (let site = queue.shift(); site; site = queue.shift()) {
      const enrollment = await coordinator.json<{ token: string }>(
        'POST',
        `/v1/sites/${encodeURIComponent(site.id)}/enrollment-tokens`,
        { json: {} },
      );
      const state = join(out, 'sites', site.id);
      const common = ['--state', state];
      const enrolled = await runAgentProcess(site.id, say, [
        'agent',
        'enroll',
        '--cloud',
        cloudUrl,
        '--token',
        enrollment.token,
        ...common,
        '--dicom',
        site.dicom,
        '--labels',
        site.labels,
        '--min-cell',
        String(scenario.minCell),
        '--release-policy',
        policyFile,
        '--threads',
        String(Math.max(1, Math.floor(2 / concurrency))),
      ]);
      if (enrolled !== 0) {
        failures.push(`${site.id}: enroll exited ${enrolled}`);
        continue;
      }
      const ran = await runAgentProcess(site.id, say, ['agent', 'run', '--once', ...common]);
      if (ran !== 0) failures.push(`${site.id}: run exited ${ran}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

/** Runs one `cairn agent …` process, prefixing its output with the site id; resolves to its exit code. */
function runAgentProcess(siteId: string, say: Say, args: string[]): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CAIRN_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr])
      createInterface({ input: stream }).on('line', (l) => say(`  [${siteId}] ${l}`));
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
}

/** Ingest is asynchronous (a queue between API and ingest): wait until every job's report is stored. */
async function waitForReports(api: CloudApi, campaignId: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const c = await api.json<{ jobs: { state: string; siteId: string; model: string; failure?: string }[] }>(
      'GET',
      `/v1/campaigns/${campaignId}/status`,
    );
    // A failed job no longer fails its agent's run: it is reported to the cloud with its code instead.
    const failed = c.jobs.filter((j) => j.state === 'failed');
    if (failed.length)
      throw new CliError(
        `some jobs failed: ${failed.map((j) => `${j.siteId} ${j.model}: ${j.failure}`).join('; ')}`,
      );
    if (c.jobs.every((j) => j.state === 'reported' || j.state === 'withheld')) return;
    if (Date.now() > deadline) throw new CliError('reports were sent but not all were ingested within 120 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}
