import type { z } from 'zod';
import {
  BoundRule,
  Criteria,
  type CriteriaRule,
  MinimumRule,
  NonInferiorityRule,
  SubgroupRule,
} from '../../schemas/criteria.ts';
import { parameterSha256 } from '../audit/hashes.ts';

export type CriteriaCheck =
  | { ok: true; criteria: Criteria; sha256: string }
  | { ok: false; problems: string[] };

/** Which rule kind a rule means, from the key only that kind has, so its problems name that kind's fields. */
function kindOf(rule: unknown): z.ZodType<CriteriaRule> {
  const r = typeof rule === 'object' && rule !== null ? rule : {};
  if ('versus' in r || 'margin' in r) return NonInferiorityRule;
  if ('subgroup' in r || 'maxBelowOverall' in r) return SubgroupRule;
  if ('metric' in r || 'bound' in r || 'atLeast' in r) return BoundRule;
  return MinimumRule;
}

const SAFE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

function where(path: PropertyKey[]): string {
  return (
    path
      .map((s, i) =>
        typeof s === 'number' ? `[${s}]` : SAFE_KEY.test(String(s)) ? `${i ? '.' : ''}${String(s)}` : '.?',
      )
      .join('') || '(top)'
  );
}

function issues(error: z.core.$ZodError, prefix: PropertyKey[], nameKeys: boolean): string[] {
  return error.issues.map((i) => {
    const unknown = (keys: string[]) =>
      nameKeys
        ? `unknown field(s) ${keys.map((k) => (SAFE_KEY.test(k) ? k : '?')).join(', ')}`
        : 'a field the schema does not allow';
    const rule = i.code === 'unrecognized_keys' ? unknown(i.keys) : i.message;
    return `${where([...prefix, ...i.path])}: ${rule}`;
  });
}

/**
 * Checks criteria as a coordinator wrote them: every problem, one line each (`rules[2].atLeast: …`), each rule
 * checked against the kind its keys name rather than "matches none of the kinds". On success, the parsed
 * criteria and their sha256 (of the canonical JSON), the value the audit chain records. `nameKeys: false`
 * (the API) leaves out the names of fields the schema does not know: they are the sender's words.
 */
export function checkCriteria(raw: unknown, opts: { nameKeys?: boolean } = {}): CriteriaCheck {
  const nameKeys = opts.nameKeys ?? true;
  const parsed = Criteria.safeParse(raw);
  if (parsed.success) return { ok: true, criteria: parsed.data, sha256: parameterSha256(parsed.data) };
  const problems: string[] = [];
  const { rules: _rules, ...rest } =
    typeof raw === 'object' && raw !== null ? (raw as { rules?: unknown }) : {};
  const top = Criteria.omit({ rules: true }).safeParse(typeof raw === 'object' && raw !== null ? rest : raw);
  if (!top.success) problems.push(...issues(top.error, [], nameKeys).filter((p) => !p.startsWith('rules')));
  const rules = (raw as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) problems.push('rules: a list of at least one rule');
  else if (rules.length === 0) problems.push('rules: at least one rule');
  else if (rules.length > 100) problems.push('rules: at most 100 rules');
  else
    rules.forEach((rule, i) => {
      const r = kindOf(rule).safeParse(rule);
      if (!r.success) problems.push(...issues(r.error, ['rules', i], nameKeys));
    });
  return { ok: false, problems: problems.length ? problems : ['does not match cairn.criteria/v1'] };
}

/** The `versus` models a rule set names, as name@version. */
export const versusModels = (c: Criteria) => c.rules.flatMap((r) => ('versus' in r ? [r.versus] : []));
