import type { Comparison, PooledEstimate, SiteComparisonRow } from '../schemas/comparison.ts';
import type { Auc, Proportion } from '../schemas/site-report.ts';
import { renderVerdicts } from './render-verdicts.ts';
import { table } from './table.ts';

const f3 = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));

function withCi(m: Auc | Proportion | PooledEstimate | null): string {
  if (m === null) return '—';
  if (m.estimate === null) return `— (${m.reason ?? 'n/a'})`;
  return `${f3(m.estimate)} (${f3(m.ciLow)}–${f3(m.ciHigh)})`;
}

const count = (n: number | null) => (n === null ? '—' : String(n));

/** 'pooled', or why the site is left out of the pools (a voided report's reason is the coordinator's). */
function siteStatus(s: SiteComparisonRow): string {
  if (s.status === 'pooled') return 'pooled';
  if (s.status === 'voided') return `voided: ${JSON.stringify(s.reason ?? '')}`;
  return `${s.status}${s.reason ? ` (${s.reason})` : ''}`;
}

/** The cross-region comparison as people read it: per site, per region (pooled), overall. */
export function renderComparison(c: Comparison): string {
  const out: string[] = [];
  for (const m of c.models) {
    out.push(`\n${m.vendor}/${m.name} ${m.version}  (sha256 ${m.sha256.slice(0, 12)}…)`);
    out.push(
      table(
        [
          'site',
          'region',
          'status',
          'cases',
          'pos',
          'neg',
          'AUC (95% CI)',
          'sensitivity',
          'specificity',
          'excluded',
        ],
        m.sites.map((s) => [
          s.site,
          s.region,
          siteStatus(s),
          count(s.cases),
          count(s.positives),
          count(s.negatives),
          withCi(s.auc),
          withCi(s.sensitivity),
          withCi(s.specificity),
          Object.entries(s.excluded)
            .map(([k, v]) => `${k}:${v}`)
            .join(' ') || '—',
        ]),
      ),
    );
    const pooledRow = (
      name: string,
      g: { auc: PooledEstimate; sensitivity: PooledEstimate; specificity: PooledEstimate },
    ) => [
      name,
      String(g.auc.k),
      withCi(g.auc),
      f3(g.auc.tau2),
      g.auc.i2 === null ? '—' : `${(g.auc.i2 * 100).toFixed(0)}%`,
      withCi(g.sensitivity),
      withCi(g.specificity),
    ];
    out.push('');
    out.push(
      table(
        ['pooled (random effects, DL)', 'k', 'AUC (95% CI)', 'tau²', 'I²', 'sensitivity', 'specificity'],
        [...m.regions.map((r) => pooledRow(`region ${r.region}`, r)), pooledRow('overall', m.overall)],
      ),
    );
    out.push(...renderVerdicts(c, m));
  }
  for (const contrast of c.contrasts ?? []) {
    const name = (id: string) => {
      const m = c.models.find((x) => x.modelId === id);
      return m ? `${m.name} ${m.version}` : id;
    };
    const diff =
      contrast.estimate === null
        ? `— (${contrast.reason ?? 'n/a'})`
        : `${contrast.estimate >= 0 ? '+' : ''}${contrast.estimate.toFixed(3)} (${f3(contrast.ciLow)} to ${f3(contrast.ciHigh)}), p = ${contrast.p === null ? '—' : contrast.p.toPrecision(2)}`;
    out.push(
      `\n${name(contrast.modelA)} vs ${name(contrast.modelB)}: AUC difference ${diff}; ${contrast.k} sites (${contrast.kPaired} paired on the same cases, ${contrast.kUnpaired} unpaired)`,
    );
  }
  return out.join('\n');
}
