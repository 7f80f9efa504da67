import { describe, expect, it } from 'vitest';
import type { SiteReport, Subgroup } from '../../schemas/site-report.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import type { FullSiteReport } from '../report/site-report.ts';
import { checkInvariants, report } from './gate.test-util.ts';
import { PrivacyGateError, privacyGate } from './gate.ts';

describe('privacyGate: subgroups', () => {
  function withAttrs(rows: { value: string; pos: number; neg: number }[], rand = seededRandom(8)) {
    const out: { score: number; label: 0 | 1; attributes: Record<string, string> }[] = [];
    for (const r of rows) {
      for (let i = 0; i < r.pos; i++)
        out.push({ score: 0.3 + rand() * 0.7, label: 1, attributes: { manufacturer: r.value } });
      for (let i = 0; i < r.neg; i++)
        out.push({ score: rand() * 0.7, label: 0, attributes: { manufacturer: r.value } });
    }
    return report(out);
  }

  /** Invariants every gated report's subgroups must satisfy at k. */
  function checkSubgroups(full: FullSiteReport, g: SiteReport, k: number) {
    const groups = g.subgroups ?? [];
    const attrs = new Set(groups.map((s) => s.attribute));
    for (const a of attrs) {
      const list = groups.filter((s) => s.attribute === a);
      expect(list.reduce((s, x) => s + x.cases, 0)).toBe(full.cases);
      expect(list.reduce((s, x) => s + x.positives, 0)).toBe(full.positives);
      for (const s of list) {
        // small counts only in an 'other' that is the whole site (whose totals the report releases anyway)
        const whole = s.value === 'other' && s.cases === full.cases;
        for (const c of [s.cases, s.positives, s.negatives])
          expect(c === 0 || c >= k || whole, `${a}=${s.value}`).toBe(true);
        for (const c of Object.values(s.confusion)) expect(c === null || c === 0 || c >= k).toBe(true);
        expect(s.suppressed.length > 0).toBe(
          Object.values(s.confusion).some((c) => c === null) || s.sensitivity.reason === 'suppressed',
        );
      }
      for (const [x, y] of [
        ['tp', 'fn'],
        ['fp', 'tn'],
      ] as const) {
        if (g.confusion[x] === null || g.confusion[y] === null) continue;
        // never exactly one group hiding a pair the site releases: it could be recovered by subtraction
        expect(list.filter((s) => s.confusion[x] === null).length).not.toBe(1);
      }
    }
  }

  it('small values merge into "other" (AUC null, reason merged); large ones are released', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
      { value: 'Rare A', pos: 2, neg: 3 },
      { value: 'Rare B', pos: 3, neg: 1 },
    ]);
    const g = privacyGate(full, { minCell: 5 });
    const vals = g.subgroups?.map((s) => s.value);
    // RARE A + RARE B = 5 positives, 4 negatives: still small, so the smallest released group joins 'other'
    expect(vals).toEqual(['GE', 'other']);
    const other = g.subgroups?.find((s) => s.value === 'other');
    expect(other).toMatchObject({ cases: 49, positives: 20, negatives: 29 });
    checkSubgroups(full, g, 5);
  });

  it('"other" too small pulls in the smallest released group', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
      { value: 'Rare', pos: 1, neg: 1 },
    ]);
    const g = privacyGate(full, { minCell: 5 });
    expect(g.subgroups?.map((s) => [s.value, s.cases])).toEqual([
      ['GE', 50],
      ['other', 42],
    ]);
    expect(g.subgroups?.[1]?.auc).toMatchObject({ estimate: null, reason: 'merged' });
    checkSubgroups(full, g, 5);
  });

  it('no small groups: released unchanged apart from cell rules; minCell 0 changes nothing', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
    ]);
    expect(privacyGate(full, { minCell: 0 })).toEqual(full);
    const g = privacyGate(full, { minCell: 5 });
    expect(g.subgroups?.map((s) => s.value)).toEqual(['GE', 'SIEMENS']);
    expect(g.subgroups?.[0]?.auc).toEqual(full.subgroups?.[0]?.auc);
  });

  it('random reports: invariants hold at every k and gating twice changes nothing', () => {
    const rand = seededRandom(31);
    for (let t = 0; t < 150; t++) {
      const rows = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, i) => ({
        value: `M${i}`,
        pos: Math.floor(rand() ** 2 * 25),
        neg: Math.floor(rand() ** 2 * 40),
      }));
      const full = withAttrs(rows, rand);
      const k = 2 + Math.floor(rand() * 9);
      const g = privacyGate(full, { minCell: k });
      checkInvariants(full, g, k);
      checkSubgroups(full, g, k);
      expect(privacyGate(g, { minCell: k })).toEqual(g);
    }
  });

  it('inconsistent subgroups throw', () => {
    const full = withAttrs([
      { value: 'GE', pos: 20, neg: 30 },
      { value: 'Siemens', pos: 15, neg: 25 },
    ]);
    const sg = full.subgroups ?? [];
    expect(() => privacyGate({ ...full, subgroups: sg.slice(1) }, { minCell: 5 })).toThrow(/add up/);
    expect(() => privacyGate({ ...full, subgroups: [...sg, sg[0] as Subgroup] }, { minCell: 5 })).toThrow(
      /twice/,
    );
    expect(() =>
      privacyGate(
        { ...full, subgroups: [{ ...(sg[0] as Subgroup), value: 'lower case' }, sg[1] as Subgroup] },
        { minCell: 5 },
      ),
    ).toThrow(PrivacyGateError);
  });
});
