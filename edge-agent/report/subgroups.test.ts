import { describe, expect, it } from 'vitest';
import { SiteReport } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { calibration } from '../../stats/calibration.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { delongAuc, pairedDelong } from '../../stats/roc.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { ageBand, normaliseAttribute, normaliseToken } from './attributes.ts';
import { buildSiteReport, type Outcome, type SiteReportInput } from './site-report.ts';

function input(outcomes: Outcome[], over: Partial<SiteReportInput> = {}): SiteReportInput {
  return {
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    campaignId: 'camp_1',
    jobId: 'job-7',
    siteId: 'site-a',
    model: { vendor: 'acme', name: 'cxr-net', version: '1.2.0', sha256: 'a'.repeat(64) },
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: equalWidthEdges(10),
    outcomes,
    excluded: {},
    images: { seen: outcomes.length, used: outcomes.length },
    ...over,
  };
}

const MAKERS = ['Siemens Healthineers', 'GE MEDICAL SYSTEMS', 'Philips', 'Canon Medical Systems Corporation'];

function outcomes(seed: number, len: number): Outcome[] {
  const rand = seededRandom(seed);
  return Array.from({ length: len }, () => {
    const label: 0 | 1 = rand() < 0.35 ? 1 : 0;
    const score = Math.min(1, Math.max(0, 0.3 + 0.3 * label + (rand() - 0.5) * 0.6));
    return {
      score,
      label,
      scoreB: Math.min(1, Math.max(0, score + (rand() - 0.5) * 0.4)),
      attributes: {
        sex: rand() < 0.5 ? 'M' : 'F',
        age: `${String(Math.floor(rand() * 95)).padStart(3, '0')}Y`,
        manufacturer: MAKERS[Math.floor(rand() * MAKERS.length)] as string,
        site: rand() < 0.5 ? 'ward 3' : 'ICU', // a campaign-named attribute
      },
    };
  });
}

describe('attribute normalisation', () => {
  it('free text becomes a bounded upper-case token; sex and age have fixed values', () => {
    expect(normaliseToken('  Siemens Healthineers ')).toBe('SIEMENS HEALTHINEERS');
    expect(normaliseToken('Größe/Ärzte <script>')).toBe('GROSSE_ARZTE _SCRIPT');
    expect(normaliseToken('a'.repeat(100))).toHaveLength(32);
    expect(normaliseToken('***')).toBe('unknown');
    expect(normaliseToken('other')).toBe('OTHER'); // never the reserved lower-case 'other'
    for (const s of ['Ümlaut 😀 model', 'x\u0000y', 'A'.repeat(31) + ' B']) {
      expect(normaliseToken(s)).toMatch(/^[A-Z0-9][A-Z0-9 _.-]{0,31}$/);
    }
    expect(normaliseAttribute('sex', 'f')).toBe('F');
    expect(normaliseAttribute('sex', 'X')).toBe('unknown');
    expect(normaliseAttribute('manufacturer', undefined)).toBe('unknown');
    expect(ageBand('017Y')).toBe('0-17');
    expect(ageBand('18')).toBe('18-39');
    expect(ageBand('059Y')).toBe('40-59');
    expect(ageBand('60')).toBe('60-74');
    expect(ageBand('074Y')).toBe('60-74');
    expect(ageBand('75')).toBe('75+');
    expect(ageBand('006M')).toBe('0-17');
    expect(ageBand('old')).toBe('unknown');
    expect(normaliseAttribute('ageBand', '75+')).toBe('75+');
  });
});

describe('buildSiteReport: calibration, subgroups, paired', () => {
  const outs = outcomes(11, 400);
  const r = buildSiteReport(input(outs));
  const scores = outs.map((o) => o.score);
  const labels = outs.map((o) => o.label);

  it('validates and carries calibration and the paired comparison', () => {
    expect(SiteReport.safeParse(r).success).toBe(true);
    expect(r.calibration).toEqual(calibration(scores, labels));
    const p = pairedDelong(
      scores,
      outs.map((o) => o.scoreB as number),
      labels,
    );
    expect(r.paired).toMatchObject({
      aucA: p.aucA,
      aucB: p.aucB,
      difference: p.difference,
      se: p.se,
      z: p.z,
      p: p.p,
      covariance: p.covariance,
      method: 'delong-paired',
    });
    expect(r.paired?.aucA).toBe(r.auc.estimate);
  });

  it('one block per attribute value, each with the same metrics as the whole site', () => {
    const attrs = [...new Set(r.subgroups?.map((g) => g.attribute))];
    expect(attrs).toEqual(['sex', 'ageBand', 'manufacturer', 'site']);
    for (const attribute of attrs) {
      const groups = r.subgroups?.filter((g) => g.attribute === attribute) ?? [];
      expect(groups.reduce((s, g) => s + g.cases, 0)).toBe(r.cases);
      for (const g of groups) {
        const key = attribute === 'ageBand' ? 'age' : attribute;
        const idx = outs.flatMap((o, i) =>
          normaliseAttribute(key, o.attributes?.[key]) === g.value ? [i] : [],
        );
        const s = idx.map((i) => scores[i] as number);
        const y = idx.map((i) => labels[i] as number);
        const tp = idx.filter((i) => labels[i] === 1 && (scores[i] as number) >= 0.5).length;
        const pos = y.filter((v) => v === 1).length;
        expect(g.cases).toBe(idx.length);
        expect(g.positives).toBe(pos);
        expect(g.confusion.tp).toBe(tp);
        expect(g.sensitivity).toMatchObject({ ...wilson(tp, pos), numerator: tp, denominator: pos });
        const a = delongAuc(s, y);
        expect(g.auc.estimate).toBe(a.estimate);
        expect(g.calibration).toEqual(calibration(s, y));
      }
    }
    expect(r.subgroups?.filter((g) => g.attribute === 'manufacturer').map((g) => g.value)).toEqual([
      'CANON MEDICAL SYSTEMS CORPORATIO',
      'GE MEDICAL SYSTEMS',
      'PHILIPS',
      'SIEMENS HEALTHINEERS',
    ]);
  });

  it('missing attributes count as unknown; a chosen attribute list is honoured; bad input throws', () => {
    const few = buildSiteReport(
      input([{ score: 0.2, label: 0 }, ...outs.slice(0, 5).map(({ scoreB: _, ...o }) => o)], {
        subgroupAttributes: ['sex', 'bodyPart'],
      }),
    );
    expect(few.subgroups?.filter((g) => g.attribute === 'sex').map((g) => g.value)).toContain('unknown');
    expect(few.subgroups?.filter((g) => g.attribute === 'bodyPart')).toMatchObject([
      { value: 'unknown', cases: 6 },
    ]);
    expect(() => buildSiteReport(input(outs, { subgroupAttributes: ['bad name!'] }))).toThrow(/attribute/);
    expect(() =>
      buildSiteReport(
        input([
          { score: 0.2, label: 0, scoreB: 0.3 },
          { score: 0.4, label: 1 },
        ]),
      ),
    ).toThrow(/all or none/);
    expect(buildSiteReport(input([{ score: 0.2, label: 0 }])).paired).toBeUndefined();
  });

  it('scores outside [0, 1]: calibration is null with a reason', () => {
    const x = buildSiteReport(
      input([
        { score: 3, label: 1 },
        { score: -1, label: 0 },
      ]),
    );
    expect(x.calibration).toMatchObject({ brier: null, reason: 'not-probabilities' });
  });
});
