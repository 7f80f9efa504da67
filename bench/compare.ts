/**
 * `npm run bench:compare`: GET /v1/campaigns/:id/comparison on a network of S sites × M model versions, each
 * site having reported every version (version i paired with version i−1 on the same cases). Starts the
 * embedded cloud (`cairn cloud serve`, its own process), builds the network through its API (regions, sites,
 * one vendor's M versions), then `--campaigns` campaigns on it, each with its S × M reports stored as ingest
 * stores them (one transaction on the cloud's database), and times:
 *  - fresh: the first call on each campaign (no row of it checked yet, nothing cached); the median is printed,
 *  - rebuild: after one of its reports is voided (the comparison is built again; rows already checked are
 *    not checked again), `--rebuilds` times,
 *  - cached: `--repeats` calls with nothing changed (p50/p95),
 * and polls /v1/health back to back during every fresh call and rebuild (p50/p99/max over all polls). Not a
 * test: timings depend on the machine. `--sizes 10x5,50x20` picks the networks (sites × versions).
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { startCloudProcess } from '../cli/demo/cloud-process.ts';
import { type Database, openDatabase } from '../functions/db/database.ts';
import { reports } from '../functions/db/schema.ts';
import {
  fakeOnnx,
  modelUploadForm,
  signEnvelope,
  siteKeyPair,
  siteReport,
  testManifest,
} from '../functions/test-fixtures.ts';
import type { SiteReport } from '../schemas/site-report.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (arg('sizes') ?? '10x5,50x20,200x50').split(',').map((s) => {
  const [sites, versions] = s.split('x').map(Number);
  return { sites: sites as number, versions: versions as number };
});
const REPEATS = Number(arg('repeats') ?? 10);
const CAMPAIGNS = Number(arg('campaigns') ?? 3);
const REBUILDS = Number(arg('rebuilds') ?? 5);
const SITES_PER_REGION = 20;

/** The response's text; `api` parses it. */
async function apiText(url: string, token: string, method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  // A kept-alive socket the server closed while the reports were written fails at once (each pooled one in
  // turn): a GET is retried.
  let res: Response | undefined;
  for (let attempt = 1; !res; attempt++)
    res = await fetch(`${url}${path}`, init).catch((err) => {
      if (method !== 'GET' || attempt >= 4) throw err;
      return undefined;
    });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text;
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  return JSON.parse(await apiText(url, token, method, path, body));
}

interface Network {
  siteIds: string[];
  models: { modelId: string; sha256: string; version: string }[];
}

/** Regions, sites, one vendor and its M versions, through the API. */
async function buildNetwork(url: string, token: string, S: number, M: number): Promise<Network> {
  const regions = Math.ceil(S / SITES_PER_REGION);
  for (let r = 0; r < regions; r++)
    await api(url, token, 'POST', '/v1/regions', { id: `r${r}`, name: `R${r}` });
  const siteIds = Array.from({ length: S }, (_, i) => `site-${i}`);
  for (const [i, id] of siteIds.entries())
    await api(url, token, 'POST', '/v1/sites', {
      id,
      regionId: `r${Math.floor(i / SITES_PER_REGION)}`,
      name: id,
    });
  await api(url, token, 'POST', '/v1/vendors', { id: 'acme', name: 'Acme' });
  // Versions 1.0.0, 1.1.0, … 1.10.0: semver order differs from text order.
  const models: Network['models'] = [];
  for (let v = 0; v < M; v++) {
    const version = `1.${v}.0`;
    const m = await api(
      url,
      token,
      'POST',
      '/v1/models',
      modelUploadForm(testManifest({ version }), fakeOnnx(version)),
    );
    models.push({ modelId: m.modelId, sha256: m.sha256, version });
  }
  return { siteIds, models };
}

/** One campaign on the network through the API; its reports straight into the database, as ingest writes them. */
async function campaignWithReports(url: string, token: string, dataDir: string, net: Network, n: number) {
  const { siteIds, models } = net;
  const campaign = await api(url, token, 'POST', '/v1/campaigns', {
    name: `bench ${n}`,
    minCell: 3,
    modelIds: models.map((m) => m.modelId),
    siteIds,
  });
  const campaignId = campaign.campaignId as string;
  const jobs = campaign.jobs as { jobId: string; modelId: string; siteId: string }[];
  const jobOf = new Map(jobs.map((j) => [`${j.modelId}|${j.siteId}`, j.jobId]));
  const key = siteKeyPair();
  const now = new Date();
  const rows: (typeof reports.$inferInsert)[] = [];
  for (const [s, siteId] of siteIds.entries()) {
    let previous: { model: SiteReport['model']; auc: number } | null = null;
    for (const [v, m] of models.entries()) {
      const jobId = jobOf.get(`${m.modelId}|${siteId}`) as string;
      const model = { vendor: 'acme', name: 'chest-xray', version: m.version, sha256: m.sha256 };
      // Deterministic spread across sites, versions and campaigns; every confusion cell stays >= 3.
      const auc = Math.round((0.78 + 0.004 * v + 0.03 * Math.sin(s * 1.7 + v + n)) * 1e4) / 1e4;
      const report = siteReport(
        { campaignId, jobId, siteId, model },
        { auc, tp: 13 + ((s + v + n) % 5), tn: 13 + ((s * 3 + v) % 5) },
      );
      if (previous) report.paired = pairedWith(previous, auc);
      previous = { model, auc };
      const envelope = signEnvelope({ siteId, keyId: 'bench', privateKey: key.privateKey }, report);
      rows.push({
        reportId: report.reportId,
        jobId,
        siteId,
        campaignId,
        modelId: m.modelId,
        report,
        envelope,
        receivedAt: now,
      });
    }
  }
  await withDatabase(dataDir, (db) =>
    db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 200) await tx.insert(reports).values(rows.slice(i, i + 200));
    }),
  );
  return { campaignId, reportIds: rows.map((r) => r.reportId) };
}

function pairedWith(
  previous: { model: SiteReport['model']; auc: number },
  auc: number,
): SiteReport['paired'] {
  const difference = Math.round((auc - previous.auc) * 1e4) / 1e4;
  return {
    aucA: auc,
    aucB: previous.auc,
    difference,
    se: 0.02,
    z: difference / 0.02,
    p: 0.5,
    covariance: [
      [0.0025, 0.0023],
      [0.0023, 0.0025],
    ],
    method: 'delong-paired',
    modelB: previous.model,
  };
}

async function withDatabase<T>(dataDir: string, f: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(`file:${join(dataDir, 'cairn.db')}`);
  try {
    return await f(db);
  } finally {
    db.$client.close();
  }
}

/** A coordinator voids a report (as the void route writes it): the campaign's state changes. */
function voidReport(dataDir: string, reportId: string) {
  return withDatabase(dataDir, (db) =>
    db
      .update(reports)
      .set({ voidedAt: new Date(), voidReason: 'bench' })
      .where(eq(reports.reportId, reportId)),
  );
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;

const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

/** One comparison call timed while /v1/health is polled back to back (its latencies go into `health`). */
async function timedWithHealth(url: string, token: string, path: string, health: number[]) {
  let running = true;
  // The body is parsed after the polls: parsing megabytes here would stall this process's own probes.
  const building = timed(() => apiText(url, token, 'GET', path)).finally(() => {
    running = false;
  });
  while (running) health.push((await timed(() => fetch(`${url}/v1/health`).then((r) => r.text()))).ms);
  return building;
}

async function benchSize(S: number, M: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-compare-'));
  const cloud = await startCloudProcess(dataDir);
  try {
    const token = readFileSync(cloud.adminTokenPath, 'utf8').trim();
    const net = await buildNetwork(cloud.url, token, S, M);
    const health: number[] = [];
    const fresh: number[] = [];
    let last = { campaignId: '', reportIds: [] as string[], path: '' };
    for (let n = 0; n < CAMPAIGNS; n++) {
      const c = await campaignWithReports(cloud.url, token, dataDir, net, n);
      last = { ...c, path: `/v1/campaigns/${c.campaignId}/comparison` };
      const first = await timedWithHealth(cloud.url, token, last.path, health);
      fresh.push(first.ms);
      const comparison = JSON.parse(first.value);
      const rows = (comparison.models as { sites: unknown[] }[]).reduce((k, m) => k + m.sites.length, 0);
      if (rows !== S * M) throw new Error(`the comparison lists ${rows} site rows, not ${S * M}`);
    }
    const rebuilds: number[] = [];
    for (let i = 0; i < REBUILDS; i++) {
      await voidReport(dataDir, last.reportIds[i] as string);
      rebuilds.push((await timedWithHealth(cloud.url, token, last.path, health)).ms);
    }
    const cached: number[] = [];
    for (let i = 0; i < REPEATS; i++)
      cached.push((await timed(() => apiText(cloud.url, token, 'GET', last.path))).ms);
    const contrasts = (JSON.parse(await apiText(cloud.url, token, 'GET', last.path)).contrasts ?? []).length;
    cached.sort((a, b) => a - b);
    health.sort((a, b) => a - b);
    return {
      size: `${S} × ${M}`,
      reports: S * M,
      contrasts,
      fresh,
      rebuild: median(rebuilds),
      p50: quantile(cached, 0.5),
      p95: quantile(cached, 0.95),
      health: [quantile(health, 0.5), quantile(health, 0.99), health[health.length - 1] as number],
      healthPolls: health.length,
    };
  } catch (err) {
    const log = readFileSync(join(dataDir, 'logs', 'serve.out'), 'utf8');
    console.error(
      `${(err as Error).message} ${(err as Error).cause ?? ''}\nthe cloud's output:\n${log.slice(-3000)}`,
    );
    throw err;
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const f0 = (x: number) => x.toFixed(0);
console.log(
  `comparison API: fresh = first call on each of ${CAMPAIGNS} new campaigns (median, then each), rebuild = after a void (median of ${REBUILDS}), cached = ${REPEATS} calls; /v1/health polled during fresh calls and rebuilds`,
);
console.log(
  'sites × versions  reports  contrasts  fresh ms (each)        rebuild ms  cached p50 / p95 ms  health p50 / p99 / max ms (polls)',
);
for (const { sites, versions } of SIZES) {
  const r = await benchSize(sites, versions);
  const fresh = `${f0(median(r.fresh))} (${r.fresh.map(f0).join(', ')})`;
  console.log(
    `${r.size.padEnd(16)}  ${String(r.reports).padStart(7)}  ${String(r.contrasts).padStart(9)}  ${fresh.padEnd(21)}  ${f0(r.rebuild).padStart(10)}  ${`${f0(r.p50)} / ${f0(r.p95)}`.padStart(19)}  ${r.health.map(f0).join(' / ')} (${r.healthPolls})`,
  );
}
