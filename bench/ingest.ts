/**
 * `npm run bench:ingest` — a national network's reports arriving at once at `cairn cloud serve` (a benchmark,
 * not a test). N agents (sites, each enrolled with its own Ed25519 key) × M reports (one per model version of a
 * campaign), every report sent twice (a fresh signature each time, as an agent's retry does). Prints accepted
 * reports/s, the p50/p95/p99/max latency the agents saw and the cloud's CPU time per accepted report (steadier
 * than reports/s on a shared machine), then how long ingest took to store them all.
 *
 * With `--kills K` the cloud is SIGKILLed K times at random moments of the load and restarted on the same data
 * folder; agents retry what failed. Afterwards it counts lost reports (a job with no stored report), duplicated
 * ones (a job with two live reports), orphaned receipts (queued, with no queue message and no report) and runs
 * `cairn audit verify`.
 *
 * Flags: --agents N (1000), --reports M (10), --kills K (0), --concurrency C (agents sending at once; all).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@libsql/client';
import { CAIRN_BIN, type CloudProcess, startCloudProcess } from '../cli/demo/cloud-process.ts';
import {
  fakeOnnx,
  modelUploadForm,
  type Signer,
  signEnvelope,
  siteKeyPair,
  siteReport,
  testManifest,
} from '../functions/test-fixtures.ts';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    reports: { type: 'string', default: '10' },
    kills: { type: 'string', default: '0' },
    concurrency: { type: 'string' },
  },
});
const AGENTS = Number(flags.agents);
const REPORTS = Number(flags.reports);
const KILLS = Number(flags.kills);
const CONCURRENCY = Number(flags.concurrency ?? flags.agents);

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-ingest-'));
let cloud: CloudProcess = await startCloudProcess(dataDir);
const admin = readFileSync(cloud.adminTokenPath, 'utf8').trim();

async function api<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(`${cloud.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body instanceof FormData ? {} : { 'content-type': 'application/json' }),
    },
    body: body instanceof FormData ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

// The network: one region, AGENTS sites, one vendor with REPORTS model versions, one campaign over all.
const setupStart = performance.now();
await api('POST', '/v1/regions', admin, { id: 'nation', name: 'Nation' });
await api('POST', '/v1/vendors', admin, { id: 'acme', name: 'Acme' });
const vendor = await api<{ token: string }>('POST', '/v1/tokens', admin, {
  role: 'vendor',
  vendorId: 'acme',
  label: 'bench',
});
const models: { modelId: string; sha256: string; version: string }[] = [];
for (let m = 0; m < REPORTS; m++) {
  const version = `1.${m}.0`;
  const r = await api<{ modelId: string; sha256: string }>(
    'POST',
    '/v1/models',
    vendor.token,
    modelUploadForm(testManifest({ version }), fakeOnnx(`bench-${m}`)),
  );
  models.push({ ...r, version });
}
const siteIds = Array.from({ length: AGENTS }, (_, i) => `site-${String(i).padStart(5, '0')}`);
await inBatches(siteIds, 50, (id) => api('POST', '/v1/sites', admin, { id, regionId: 'nation', name: id }));
const campaign = await api<{
  campaignId: string;
  jobs: { jobId: string; modelId: string; siteId: string }[];
}>('POST', '/v1/campaigns', admin, {
  name: 'bench',
  minCell: 3,
  modelIds: models.map((m) => m.modelId),
  siteIds,
});
const agents = await inBatches(siteIds, 50, async (siteId) => {
  const { token } = await api<{ token: string }>('POST', `/v1/sites/${siteId}/enrollment-tokens`, admin, {});
  const keys = siteKeyPair();
  const res = await api<{ keyId: string; apiToken: string }>('POST', '/v1/enroll', '', {
    token,
    publicKey: keys.publicKeyRaw,
    agentVersion: '0.1.0',
  });
  const signer: Signer = { siteId, keyId: res.keyId, privateKey: keys.privateKey };
  return { signer, token: res.apiToken };
});
const jobOf = new Map(campaign.jobs.map((j) => [`${j.siteId}/${j.modelId}`, j.jobId]));
console.log(
  `network: ${AGENTS} sites, ${REPORTS} model versions, ${campaign.jobs.length} jobs (set up in ${seconds(setupStart)} s)`,
);

// The load: every agent sends each of its reports twice, each attempt signed afresh.
const latencies: number[] = [];
const answers = new Map<number | string, number>();
let accepted = 0;
let killing = KILLS > 0;
let killed = 0;
/** CPU time of the cloud processes during the load: killed ones added as they go, the last one at the end. */
let cpuSpentMs = -cpuMs(cloud.pid);
const killer = killing ? killLoop() : Promise.resolve();
const loadStart = performance.now();
const agentsCpu = process.cpuUsage();
await inBatches(agents, CONCURRENCY, async ({ signer, token }) => {
  for (const model of models) {
    const report = siteReport({
      campaignId: campaign.campaignId,
      jobId: jobOf.get(`${signer.siteId}/${model.modelId}`) as string,
      siteId: signer.siteId,
      model: { vendor: 'acme', name: 'chest-xray', version: model.version, sha256: model.sha256 },
    });
    for (let copy = 0; copy < 2; copy++) await deliver(signer, token, report);
  }
});
const loadSeconds = (performance.now() - loadStart) / 1000;
killing = false;
await killer;
latencies.sort((a, b) => a - b);
console.log(
  `load: ${AGENTS * REPORTS * 2} sends in ${loadSeconds.toFixed(1)} s; ${accepted} accepted (202) = ` +
    `${(accepted / loadSeconds).toFixed(0)} reports/s; latency p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, ` +
    `p99 ${pct(0.99)} ms, max ${pct(1)} ms`,
);
const cloudCpuMs = cpuSpentMs + cpuMs(cloud.pid);
console.log(
  `cloud CPU: ${(cloudCpuMs / 1000).toFixed(1)} s, ${(cloudCpuMs / Math.max(1, accepted)).toFixed(2)} ms per accepted report; ` +
    // The agents run in this process: when it is the busier one, the load measures the agents, not the cloud.
    `the agents' (this process): ${(cpuTotalMs(process.cpuUsage(agentsCpu)) / 1000).toFixed(1)} s`,
);
console.log(
  `answers: ${JSON.stringify(Object.fromEntries(answers))}; the cloud was SIGKILLed ${killed} times`,
);

// Ingest: until every job has its report (or nothing moves for 60 s).
const db = createClient({ url: `file:${join(dataDir, 'cairn.db')}` });
const drainStart = performance.now();
let last = -1;
let still = performance.now();
for (;;) {
  const n = Number((await db.execute('select count(*) as n from reports')).rows[0]?.n);
  if (n >= campaign.jobs.length) break;
  if (n !== last) {
    last = n;
    still = performance.now();
  } else if (performance.now() - still > 60_000) break;
  await new Promise((r) => setTimeout(r, 250));
}
const stored = Number((await db.execute('select count(*) as n from reports')).rows[0]?.n);
console.log(
  `ingest: ${stored} of ${campaign.jobs.length} stored ${seconds(drainStart)} s after the load ended`,
);

const count = async (sql: string) => Number((await db.execute(sql)).rows[0]?.n);
const lost = await count(
  'select count(*) as n from jobs where not exists (select 1 from reports r where r.job_id = jobs.id and r.voided_at is null)',
);
const duplicated = await count(
  'select count(*) as n from (select job_id from reports where voided_at is null group by job_id having count(*) > 1)',
);
// Once ingest has settled, a receipt still `queued` with no stored report has no message left to deliver it.
const queued = await count("select count(*) as n from queue_messages where status <> 'dead'");
const orphaned = await count(
  "select count(*) as n from report_receipts rr where rr.status = 'queued' and not exists (select 1 from reports r where r.report_id = rr.report_id)",
);
console.log(
  `lost ${lost}, duplicated ${duplicated}, orphaned receipts ${orphaned} (queue messages left: ${queued})`,
);
db.close();
await cloud.stop();
console.log(`in the cloud's handler (its access log): ${handlerLatency()}`);
const verify = spawnSync(process.execPath, [CAIRN_BIN, 'audit', 'verify', '--data', dataDir], {
  encoding: 'utf8',
});
console.log(
  `audit verify (exit ${verify.status}): ${(verify.stdout + verify.stderr).trim().split('\n').slice(0, 5).join(' | ')}`,
);
console.log(
  JSON.stringify({
    agents: AGENTS,
    reports: REPORTS,
    kills: killed,
    acceptedPerSecond: Math.round(accepted / loadSeconds),
    p50: pct(0.5),
    p95: pct(0.95),
    p99: pct(0.99),
    max: pct(1),
    cloudCpuMsPerReport: Number((cloudCpuMs / Math.max(1, accepted)).toFixed(2)),
    stored,
    lost,
    duplicated,
    orphaned,
    auditVerifyExit: verify.status,
  }),
);
rmSync(dataDir, { recursive: true, force: true });

/**
 * p50/p99/max of POST /v1/reports as the cloud timed it (its access log, from the handler's start to its
 * answer): set against what the agents saw, it says whether the time went inside the handler or before it.
 */
function handlerLatency(): string {
  const ms = readdirSync(join(dataDir, 'logs'))
    .filter((f) => f.startsWith('cloud.log'))
    .flatMap((f) => readFileSync(join(dataDir, 'logs', f), 'utf8').split('\n'))
    .filter((line) => line.includes('"route":"/v1/reports"'))
    .map((line) => Number((JSON.parse(line) as { durationMs?: number }).durationMs))
    .sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0);
  return `${ms.length} requests, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

/** Sends one report until the cloud answers (a connection refused while it restarts is retried, re-signed). */
async function deliver(signer: Signer, token: string, report: ReturnType<typeof siteReport>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${cloud.url}/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(signEnvelope(signer, report, { timestamp: new Date() })),
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
      if (res.status === 202) accepted++;
      if (res.status < 500) return;
    } catch {
      answers.set('network-error', (answers.get('network-error') ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGKILLs the cloud at random moments while the load runs, and starts it again on the same folder. */
async function killLoop(): Promise<void> {
  for (let k = 0; k < KILLS && killing; k++) {
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
    if (!killing) break;
    cpuSpentMs += cpuMs(cloud.pid);
    process.kill(cloud.pid, 'SIGKILL');
    killed++;
    await new Promise((r) => setTimeout(r, 100));
    // On a new free port (agents read `cloud.url` afresh on every attempt); the dead pid's lock is taken over.
    cloud = await startCloudProcess(dataDir);
  }
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

function pct(q: number): number {
  return Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
}

function cpuTotalMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

/** User + system CPU of a process so far, from /proc (Linux; 0 elsewhere). */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
