import { describe, expect, it } from 'vitest';
import { Criteria, criteriaJsonSchema } from './criteria.ts';

describe('cairn.criteria/v1', () => {
  it('exports a JSON Schema that is closed and names the four rule kinds', () => {
    const schema = criteriaJsonSchema() as unknown as {
      additionalProperties: boolean;
      required: string[];
      properties: { rules: { items: { anyOf: { required?: string[]; additionalProperties: boolean }[] } } };
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['schema', 'rules']);
    const kinds = schema.properties.rules.items.anyOf;
    expect(kinds.map((k) => k.required ?? [])).toEqual([
      ['metric', 'scope', 'bound', 'atLeast'],
      ['metric', 'versus', 'margin'],
      ['metric', 'scope', 'subgroup', 'maxBelowOverall'],
      ['scope'],
    ]);
    expect(kinds.every((k) => k.additionalProperties === false)).toBe(true);
  });

  it('a rule of no kind, or a minimum naming no count, is refused', () => {
    const with_ = (rule: unknown) =>
      Criteria.safeParse({ schema: 'cairn.criteria/v1', rules: [rule] }).success;
    expect(with_({ metric: 'auc', scope: 'overall', bound: 'ciLow', atLeast: 0.8 })).toBe(true);
    expect(with_({ metric: 'auc', scope: 'overall', bound: 'ciLow', atLeast: 0.8, versus: 'a@1.0.0' })).toBe(
      false,
    );
    expect(with_({ scope: 'region' })).toBe(false);
    expect(with_({ metric: 'sensitivity', versus: 'a@1.0.0', margin: 0.05 })).toBe(false);
  });
});
