/**
 * `npm run bench:compare`: GET /v1/campaigns/:id/comparison on a network of S sites × M model versions, each
 * site having reported every version (version i paired with version i−1 on the same cases). Starts the
 * embedded cloud (`cairn cloud serve`, its own process), builds the network through its API (regions, sites,
 * one vendor's M versions, one campaign), stores the S × M reports as ingest stores them (one transaction
 * on the cloud's database), then times the comparison (p50/p95 over `--repeats`, after the first call) and,
 * while the first one is built, polls /v1/health back to back and prints its worst latency. Not a test: timings
 * depend on the machine. `--sizes 10x5,50x20` picks the networks (sites × versions).
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloudProcess } from '../cli/demo/cloud-process.ts';
import { openDatabase } from '../functions/db/database.ts';
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
const SITES_PER_REGION = 20;

/** The response's text; `api` parses it. */
async function apiText(url: string, token: string, method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  // A kept-alive socket the server closed while the reports were written fails at once: a GET is retried.
  const res = await fetch(`${url}${path}`, init).catch((err) => {
    if (method !== 'GET') throw err;
    return fetch(`${url}${path}`, init);
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text;
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  return JSON.parse(await apiText(url, token, method, path, body));
}

/** The network through the API; the reports straight into the database, as ingest writes them. */
async function buildNetwork(url: string, token: string, dataDir: string, S: number, M: number) {
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
  const models: { modelId: string; sha256: string; version: string }[] = [];
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
  const campaign = await api(url, token, 'POST', '/v1/campaigns', {
    name: `bench ${S}x${M}`,
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
      // Deterministic spread across sites and versions; every confusion cell stays >= 3.
      const auc = Math.round((0.78 + 0.004 * v + 0.03 * Math.sin(s * 1.7 + v)) * 1e4) / 1e4;
      const report = siteReport(
        { campaignId, jobId, siteId, model },
        { auc, tp: 13 + ((s + v) % 5), tn: 13 + ((s * 3 + v) % 5) },
      );
      if (previous) {
        const difference = Math.round((auc - previous.auc) * 1e4) / 1e4;
        report.paired = {
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
  const db = await openDatabase(`file:${join(dataDir, 'cairn.db')}`);
  try {
    await db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 200) await tx.insert(reports).values(rows.slice(i, i + 200));
    });
  } finally {
    db.$client.close();
  }
  return campaignId;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function benchSize(S: number, M: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-compare-'));
  const cloud = await startCloudProcess(dataDir);
  try {
    const token = readFileSync(cloud.adminTokenPath, 'utf8').trim();
    const campaignId = await buildNetwork(cloud.url, token, dataDir, S, M);
    const path = `/v1/campaigns/${campaignId}/comparison`;
    // /v1/health back to back while the first comparison is built.
    let running = true;
    // The body is parsed after the polls: parsing megabytes here would stall this process's own probes.
    const building = timed(() => apiText(cloud.url, token, 'GET', path)).finally(() => {
      running = false;
    });
    const health: number[] = [];
    while (running)
      health.push((await timed(() => fetch(`${cloud.url}/v1/health`).then((r) => r.text()))).ms);
    const first = await building;
    const comparison = JSON.parse(first.value);
    const contrasts = (comparison.contrasts ?? []).length;
    const rows = (comparison.models as { sites: unknown[] }[]).reduce((n, m) => n + m.sites.length, 0);
    if (rows !== S * M) throw new Error(`the comparison lists ${rows} site rows, not ${S * M}`);
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) times.push((await timed(() => api(cloud.url, token, 'GET', path))).ms);
    times.sort((a, b) => a - b);

    return {
      size: `${S} × ${M}`,
      reports: S * M,
      contrasts,
      firstMs: first.ms,
      p50: quantile(times, 0.5),
      p95: quantile(times, 0.95),
      healthMax: Math.max(...health),
      healthP99: quantile(
        health.sort((a, b) => a - b),
        0.99,
      ),
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
console.log(`comparison API, ${REPEATS} repeats after the first call; /v1/health polled during the first`);
console.log('sites × versions  reports  contrasts  first ms  p50 ms  p95 ms  health p99 / max ms (polls)');
for (const { sites, versions } of SIZES) {
  const r = await benchSize(sites, versions);
  console.log(
    `${r.size.padEnd(16)}  ${String(r.reports).padStart(7)}  ${String(r.contrasts).padStart(9)}  ${f0(r.firstMs).padStart(8)}  ${f0(r.p50).padStart(6)}  ${f0(r.p95).padStart(6)}  ${f0(r.healthP99).padStart(10)} / ${f0(r.healthMax)} (${r.healthPolls})`,
  );
}
