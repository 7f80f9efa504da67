import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectClose, normalDeviate, seededRandom } from '../test/support/oracles.ts';
import { fitBivariate, poolBivariate, type SiteConfusion } from './bivariate.ts';
import { type Scenario, scenarios, toLogit } from './bivariate-scenarios.test-util.ts';
import { expit } from './meta.ts';

describe('poolBivariate', () => {
  const sites = (scenarios[2] as Scenario).sites;

  it('back-transforms the fit: estimates and 95 % Wald intervals on the logit scale', () => {
    const p = poolBivariate(sites);
    const d = toLogit(sites);
    const f = fitBivariate(d.y1, d.v1, d.y2, d.v2);
    expect(p.k).toBe(sites.length);
    expect(p.method).toBe('REML');
    expect(p.converged).toBe(true);
    expect(p.reason).toBeUndefined();
    expect(p.sensitivity.estimate).toBe(expit(f.mu[0]));
    expect(p.specificity.estimate).toBe(expit(f.mu[1]));
    expectClose(
      p.sensitivity.ciHigh,
      expit(f.mu[0] + 1.959963984540054 * Math.sqrt(f.vcov[0][0])),
      1e-12,
      'hi',
    );
    expect(p.tau2Sensitivity).toBe(f.tau2[0]);
    expect(p.tau2Specificity).toBe(f.tau2[1]);
    expect(p.rho).toBe(f.rho);
    expect(p.logitCovariance).toEqual(f.vcov);
    expect(p.logLik).toBe(f.logLik);
  });

  it('skips suppressed sites and sites without positives or negatives; null with a reason below 4 sites', () => {
    const withHoles: SiteConfusion[] = [
      ...sites.slice(0, 5),
      { tp: null, fn: null, tn: 40, fp: 3 },
      { tp: 0, fn: 0, tn: 40, fp: 3 },
      { tp: 10, fn: 2, tn: 0, fp: 0 },
    ];
    const p = poolBivariate(withHoles);
    expect(p.k).toBe(5);
    expect(p).toEqual(poolBivariate(sites.slice(0, 5)));
    const three = poolBivariate(withHoles.slice(2));
    expect(three.k).toBe(3);
    expect(three.sensitivity.estimate).toBeNull();
    expect(three.rho).toBeNull();
    expect(three.reason).toMatch(/at least 4 sites/);
    expect(poolBivariate([]).k).toBe(0);
  });

  it('rejects counts that are not non-negative integers', () => {
    expect(() => poolBivariate([{ tp: 1.5, fn: 2, tn: 3, fp: 4 }])).toThrow(/integers/);
    expect(() => poolBivariate([{ tp: -1, fn: 2, tn: 3, fp: 4 }])).toThrow(/integers/);
    expect(() => fitBivariate([1, 2], [0.1, 0], [1, 2], [0.1, 0.1])).toThrow(/positive/);
    expect(() => fitBivariate([1], [0.1], [1], [0.1])).toThrow(/at least 2/);
  });
});

describe('cairn pool --json: bivariate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bivariate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cairn = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/cairn.mjs', ...args], { encoding: 'utf8' });

  it('adds bivariate from 4 reports on, from their confusion counts, skipping suppressed ones', () => {
    const rand = seededRandom(5);
    const lines = ['score,label'];
    for (let i = 0; i < 200; i++) {
      const label = rand() < 0.4 ? 1 : 0;
      lines.push(`${expit(-0.5 + 2 * label + normalDeviate(rand))},${label}`);
    }
    const csv = join(dir, 'scores.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const made = cairn('report', '--scores', csv, '--json');
    expect(made.stderr).toBe('');
    const template = JSON.parse(made.stdout);
    const sites = (scenarios[3] as Scenario).sites.slice(0, 6);
    const files = sites.map((c, i) => {
      const path = join(dir, `site-${i}.json`);
      const prop = (x: number, n: number) => ({ ...template.sensitivity, numerator: x, denominator: n });
      const report = {
        ...template,
        confusion: c,
        sensitivity: prop(c.tp as number, (c.tp as number) + (c.fn as number)),
        specificity: prop(c.tn as number, (c.tn as number) + (c.fp as number)),
      };
      if (i === 5) {
        report.confusion = { ...c, tp: null, fn: null };
        report.sensitivity = {
          ...report.sensitivity,
          numerator: null,
          denominator: null,
          reason: 'suppressed',
        };
      }
      writeFileSync(path, JSON.stringify(report));
      return path;
    });
    const r = cairn('pool', ...files, '--json');
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    const expected = poolBivariate(sites.slice(0, 5));
    expect(j.bivariate).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(j.bivariate.k).toBe(5);
    expect(j.bivariate.method).toBe('REML');
    for (const key of ['sensitivity', 'specificity', 'tau2Sensitivity', 'tau2Specificity', 'rho', 'k'])
      expect(j.bivariate, key).toHaveProperty(key);
    expect(Object.keys(j.bivariate.sensitivity).sort()).toEqual(['ciHigh', 'ciLow', 'estimate']);

    const three = cairn('pool', ...files.slice(0, 3), '--json');
    expect(JSON.parse(three.stdout)).not.toHaveProperty('bivariate');
    const text = cairn('pool', ...files);
    expect(text.stdout).toMatch(/^bivariate {4}sensitivity 0\.\d{3} \[/m);
  });
});
