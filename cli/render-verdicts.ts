import type { Comparison, Verdict } from '../schemas/comparison.ts';

type Model = Comparison['models'][number];

/** The rules that kept a scope from passing, each with the numbers that decided it. */
function reasons(v: Verdict): string {
  const open = v.rules.filter((r) => r.verdict !== 'pass');
  return open.map((r) => `rule ${r.rule} ${r.verdict}: ${r.reason}`).join('; ');
}

/**
 * One model's verdicts as people read them: one line per region and overall, the rules that did not pass
 * beside it; empty when the comparison carries no criteria.
 */
export function renderVerdicts(c: Comparison, m: Model): string[] {
  if (!c.criteria) return [];
  const when = c.criteria.postHoc ? 'POST HOC (attached after the campaign began)' : 'pre-registered';
  const scopes: [string, Verdict | undefined][] = [
    ...m.regions.map((r): [string, Verdict | undefined] => [`region ${r.region}`, r.verdict]),
    ['overall', m.overall.verdict],
  ];
  const width = Math.max(...scopes.map(([name]) => name.length));
  return [
    '',
    `verdicts (criteria ${c.criteria.sha256.slice(0, 12)}…, ${when}):`,
    ...scopes.map(([name, v]) =>
      v
        ? `  ${name.padEnd(width)}  ${v.verdict.toUpperCase().padEnd(12)}  ${reasons(v)}`.trimEnd()
        : `  ${name}  —`,
    ),
  ];
}
