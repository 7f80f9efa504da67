import { describe, expect, it } from 'vitest';
import { buildComparison } from '../functions/comparison/build-comparison.ts';
import { siteReport } from '../functions/test-fixtures.ts';
import { renderComparison } from './render-comparison.ts';

const model = { modelId: 'mdl_1', vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) };
const row = (siteId: string) => ({
  modelId: model.modelId,
  siteId,
  regionId: 'north',
  report: siteReport({ campaignId: 'c', jobId: `j-${siteId}`, siteId, model: { ...model } }),
});

describe('renderComparison', () => {
  it("shows each site's status: pooled, invalid with the rule, voided with the coordinator's reason", () => {
    const text = renderComparison(
      buildComparison({
        generatedAt: new Date(),
        models: [model],
        reports: [
          row('site-a'),
          { ...row('site-b'), report: null, invalid: 'absurd-value' },
          { ...row('site-c'), voided: { reason: 'wrong labels file', at: new Date() } },
        ],
      }),
    );
    const line = (site: string) => text.split('\n').find((l) => l.startsWith(site)) ?? '';
    expect(line('site-a')).toMatch(/ pooled +40 +20 +20 /);
    expect(line('site-b')).toMatch(/ invalid \(absurd-value\) +— +— +— /);
    expect(line('site-c')).toContain('voided: "wrong labels file"');
    expect(text).toMatch(/overall +1 /);
  });
});
