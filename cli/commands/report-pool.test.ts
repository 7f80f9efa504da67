import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { delongAuc, pairedDelong } from '../../stats/roc.ts';
import { runCairnSync } from '../../test/support/cli-runner.ts';
import { normalDeviate, seededRandom } from '../../test/support/oracles.ts';

const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-stats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cairn(...args: string[]) {
  const r = runCairnSync(args);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function csv(
  name: string,
  seed: number,
  len: number,
): { path: string; s: number[]; b: number[]; y: number[] } {
  const rand = seededRandom(seed);
  const s: number[] = [];
  const b: number[] = [];
  const y: number[] = [];
  const lines = ['score,label,sex,manufacturer,scoreB'];
  for (let i = 0; i < len; i++) {
    const label = rand() < 0.3 ? 1 : 0;
    const l = -1 + 1.5 * label + normalDeviate(rand);
    const p = 1 / (1 + Math.exp(-l));
    const q = 1 / (1 + Math.exp(-(0.7 * l + 0.5 * normalDeviate(rand))));
    s.push(p);
    b.push(q);
    y.push(label);
    const maker = ['Siemens', '"GE Medical, Inc."', 'Rare Vendor'][rand() < 0.02 ? 2 : rand() < 0.5 ? 1 : 0];
    lines.push(`${p},${label},${rand() < 0.5 ? 'M' : 'F'},${maker},${q}`);
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, s, b, y };
}

describe('cairn report and cairn pool', () => {
  const a = csv('a.csv', 1, 300);
  const b = csv('b.csv', 2, 250);

  it('report --json: the site report with every issue-3 key at the top level', () => {
    const r = cairn(
      'report',
      '--scores',
      a.path,
      '--subgroups',
      'sex,manufacturer',
      '--paired',
      'scoreB',
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of [
      'auc',
      'sensitivity',
      'specificity',
      'ppv',
      'npv',
      'confusion',
      'calibration',
      'histogram',
      'subgroups',
      'paired',
    ])
      expect(j, k).toHaveProperty(k);
    expect(j.auc.estimate).toBe(delongAuc(a.s, a.y).estimate);
    expect(j.paired.difference).toBe(pairedDelong(a.s, a.b, a.y).difference);
    expect(Object.keys(j.calibration).sort()).toEqual(['brier', 'ece', 'intercept', 'slope']);
    const makers = j.subgroups.filter((g: { attribute: string }) => g.attribute === 'manufacturer');
    const values = makers.map((g: { value: string }) => g.value);
    expect(values).toContain('GE MEDICAL_ INC'); // normalised free text
    expect(values).toContain('other'); // the rare vendor, merged by the gate
    expect(values).not.toContain('RARE VENDOR');
    expect(j.minCell).toBe(5);
    writeFileSync(join(dir, 'a.json'), r.stdout);
  });

  it('--min-cell 0 turns suppression off; --threshold and --bins apply', () => {
    const r = cairn(
      'report',
      '--scores',
      a.path,
      '--subgroups',
      'manufacturer',
      '--min-cell',
      '0',
      '--threshold',
      '0.4',
      '--bins',
      '7',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.minCell).toBe(0);
    expect(j.suppressed).toEqual([]);
    expect(j.threshold).toBe(0.4);
    expect(j.histogram.edges).toHaveLength(8);
    expect(j.subgroups.map((g: { value: string }) => g.value)).toContain('RARE VENDOR');
    expect(j.confusion.tp).toBe(a.s.filter((v, i) => v >= 0.4 && a.y[i] === 1).length);
  });

  it('pool --json: auc, sensitivity, specificity with every pooled key; --knha and --method apply', () => {
    const rb = cairn('report', '--scores', b.path, '--paired', 'scoreB', '--json');
    writeFileSync(join(dir, 'b.json'), rb.stdout);
    const r = cairn('pool', join(dir, 'a.json'), join(dir, 'b.json'), '--method', 'REML', '--knha', '--json');
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    for (const m of ['auc', 'sensitivity', 'specificity']) {
      for (const k of [
        'estimate',
        'ciLow',
        'ciHigh',
        'tau2',
        'i2',
        'k',
        'method',
        'predictionLow',
        'predictionHigh',
      ])
        expect(j[m], `${m}.${k}`).toHaveProperty(k);
      expect(j[m].method).toBe('REML');
      expect(j[m].test).toBe('knha');
      expect(j[m].k).toBe(2);
    }
    expect(j.difference).toMatchObject({ k: 2, kPaired: 2 });
    expect(j.binnedAuc.estimate).toBeGreaterThan(0.5);
  });

  it('bad input: one line on stderr, non-zero exit', () => {
    const bad = join(dir, 'bad.csv');
    for (const [content, msg] of [
      ['score,label\n0.3,2\n', /line 2: label "2" is not 0 or 1/],
      ['score,label\nabc,1\n', /line 2: score is not a number/],
      ['s,label\n0.3,1\n', /score,label/],
      ['score;label\n0.3;1\n', /separated by semicolons/],
      ['score,label\n0.3,1,9\n', /line 2: 3 fields/],
    ] as const) {
      writeFileSync(bad, content);
      const r = cairn('report', '--scores', bad, '--json');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    for (const args of [
      ['report', '--scores', join(dir, 'missing.csv')],
      ['report', '--scores', a.path, '--subgroups', 'nope'],
      ['report', '--scores', a.path, '--paired', 'nope'],
      ['report', '--scores', a.path, '--min-cell', '-1'],
      ['report', '--scores', a.path, '--threshold', 'x'],
      ['pool', bad],
      ['pool', a.path],
      ['pool', join(dir, 'a.json'), '--method', 'XX'],
    ]) {
      const r = cairn(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^cairn: /);
    }
  });
});
