/**
 * `cairn pool`: random-effects pooling of site reports (files written by `cairn report --json` or the
 * agent's reports), the same functions the cloud's comparison uses.
 */
import type { Command } from 'commander';
import type { BivariatePooled } from '../../stats/bivariate.ts';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';

interface PoolFlags {
  method: string;
  knha?: boolean;
  json?: boolean;
  output: string;
}

function bivariateLine(b: BivariatePooled | undefined, fmt: (v: unknown) => string): string[] {
  if (b === undefined) return [];
  if (b.reason !== undefined) return [`bivariate    — (k ${b.k}: ${b.reason})`];
  const m = (p: BivariatePooled['sensitivity']) => `${fmt(p.estimate)} [${fmt(p.ciLow)}, ${fmt(p.ciHigh)}]`;
  return [
    `bivariate    sensitivity ${m(b.sensitivity)}  specificity ${m(b.specificity)}  τ² ${fmt(b.tau2Sensitivity)}, ${fmt(b.tau2Specificity)}  ρ ${fmt(b.rho)}  k ${b.k} (REML)`,
  ];
}

export function registerPoolCommand(program: Command): void {
  program
    .command('pool')
    .description('pool site reports across sites: random effects on the logit scale (DL or REML)')
    .argument('<reports...>', 'site report JSON files')
    .option('--method <m>', 'τ² estimator: DL or REML', 'DL')
    .option('--knha', 'Knapp–Hartung adjustment (t-based CI and prediction interval)')
    .option('--json', 'print JSON (same as --output json)')
    .option('--output <format>', 'text or json', 'text')
    .action(async (files: string[], o: PoolFlags) => {
      const { poolReports, readReport } = await import('./pool-reports.ts');
      const method = o.method.toUpperCase();
      if (method !== 'DL' && method !== 'REML')
        throw new CliError(`--method must be DL or REML, got ${o.method}`);
      const reports = files.map(readReport);
      const out = poolReports(reports, { method, test: o.knha ? 'knha' : 'z' });
      const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(3) : '—');
      print(o.json ? 'json' : o.output, out, () =>
        (['auc', 'sensitivity', 'specificity'] as const)
          .map((m) => {
            const p = out[m] as Record<string, unknown>;
            return `${m.padEnd(12)} ${fmt(p['estimate'])} [${fmt(p['ciLow'])}, ${fmt(p['ciHigh'])}]  prediction [${fmt(p['predictionLow'])}, ${fmt(p['predictionHigh'])}]  τ² ${fmt(p['tau2'])}  I² ${fmt(p['i2'])}  k ${p['k']}${p['reason'] ? ` (${p['reason']})` : ''}`;
          })
          .concat(bivariateLine(out['bivariate'] as BivariatePooled | undefined, fmt))
          .concat(
            out['withheld']
              ? [`withheld     ${out['withheld']} report(s) withhold a class with too few cases: not pooled`]
              : [],
          )
          .join('\n'),
      );
    });
}
