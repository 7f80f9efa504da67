import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainReportBatch } from '../../functions/ingest/embedded.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
} from '../../functions/test-fixtures.ts';
import { axeViolations, launchChromium, screenshot } from '../../test/support/browser.ts';
import { runCairn } from '../../test/support/cli-runner.ts';

/** `cairn report export` against a cloud over HTTP: the document a regulator is handed, in each format. */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let server: ReturnType<typeof serve>;
let url: string;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-export-'));
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  for (const signer of [net.siteA, net.siteC]) {
    const env = signEnvelope(signer, siteReport(net.acmeIds(signer.siteId)));
    expect((await call(cloud, 'POST', '/v1/reports', { token: signer.token, json: env })).status).toBe(202);
  }
  await drainReportBatch(cloud.deps);
  server = await new Promise((resolve) => {
    const s = serve({ fetch: cloud.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

const exportAs = (format: string, out: string, extra: string[] = []) =>
  runCairn([
    'report',
    'export',
    '--model',
    net.acmeModel.modelId,
    '--format',
    format,
    '--out',
    out,
    '--cloud',
    url,
    '--token',
    cloud.adminToken,
    ...extra,
  ]);

describe('cairn report export', () => {
  it('writes a PDF whose text carries the sections and hashes, the same bytes twice', async () => {
    const [a, b] = [join(dir, 'a.pdf'), join(dir, 'b.pdf')];
    const first = await exportAs('pdf', a);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^wrote .*a\.pdf \(pdf, \d+ bytes, sha256 [0-9a-f]{64}\)/);
    expect((await exportAs('pdf', b)).status).toBe(0);
    expect(readFileSync(a).subarray(0, 5).toString()).toBe('%PDF-');
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    const text = spawnSync('pdftotext', ['-layout', a, '-'], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    for (const words of [
      'Evaluation report: acme chest-xray 1.0.0',
      'Verdict per criterion',
      'Device identity',
      'Governance trail',
      'Privacy parameters',
      'reporting checklist',
      'TRIPOD+AI',
      'STARD-AI',
    ])
      expect(text.stdout).toContain(words);
    expect(text.stdout.replace(/\s/g, '')).toContain(net.acmeModel.sha256);
  });

  it('writes HTML a browser renders without accessibility violations (screenshot kept), and JSON', async () => {
    const html = join(dir, 'r.html');
    expect((await exportAs('html', html)).status).toBe(0);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`file://${html}`);
      expect(await page.locator('h1').textContent()).toBe('Evaluation report: acme chest-xray 1.0.0');
      expect(await page.locator('svg[aria-label="Forest plot of AUC by site"] rect').count()).toBe(2);
      await screenshot(page, 'evaluation-report');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await browser.close();
    }
    const json = join(dir, 'r.json');
    const r = await exportAs('json', json, ['--region', 'south', '--output', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ format: 'json', out: json });
    expect(JSON.parse(readFileSync(json, 'utf8')).sites.map((s: { site: string }) => s.site)).toEqual([
      'site-c',
    ]);
  });

  it('a bad format or an unknown model: one line, no file', async () => {
    const bad = await exportAs('docx', join(dir, 'x.docx'));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toEqual(['cairn: --format must be one of html, pdf, json']);
    const unknown = await runCairn([
      'report',
      'export',
      '--model',
      'nope',
      '--out',
      join(dir, 'y.html'),
      '--cloud',
      url,
      '--token',
      cloud.adminToken,
    ]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });
});
