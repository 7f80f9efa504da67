import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CRITERIA } from '../cli/demo/generate-network.ts';
import { loadScenario } from '../cli/demo/run-scenario.ts';
import { renderComparison } from '../cli/render-comparison.ts';
import { buildComparison } from '../functions/comparison/build-comparison.ts';
import { withVerdicts } from '../functions/criteria/verdict.ts';
import { siteReport } from '../functions/test-fixtures.ts';
import { Criteria } from '../schemas/criteria.ts';
import { demoManifest } from '../synthetic/model.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-scenario-'));
  mkdirSync(join(dir, 'dicom'));
  writeFileSync(join(dir, 'labels.csv'), 'study,label\n');
  writeFileSync(join(dir, 'model.onnx'), 'onnx');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(demoManifest(1)));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const scenario = (criteria: unknown) => {
  const file = join(dir, 'scenario.json');
  writeFileSync(
    file,
    JSON.stringify({
      models: [{ manifest: 'manifest.json', onnx: 'model.onnx' }],
      regions: [{ id: 'north', sites: [{ id: 'site-a', dicom: 'dicom', labels: 'labels.csv' }] }],
      ...(criteria === undefined ? {} : { criteria }),
    }),
  );
  return file;
};

describe('scenario criteria', () => {
  it('a criteria file relative to the scenario, or the object inline, is checked and kept', () => {
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'c.json'), JSON.stringify(DEMO_CRITERIA));
    expect(loadScenario(scenario('rules/c.json')).criteria).toEqual(Criteria.parse(DEMO_CRITERIA));
    expect(loadScenario(scenario(DEMO_CRITERIA)).criteria).toEqual(Criteria.parse(DEMO_CRITERIA));
    expect(loadScenario(scenario(undefined)).criteria).toBeUndefined();
  });

  it('a missing file or bad criteria are reported with the scenario’s other problems, each named', () => {
    expect(() => loadScenario(scenario('nope.json'))).toThrow(/criteria: nope\.json is not a file/);
    const bad = {
      schema: 'cairn.criteria/v1',
      rules: [{ metric: 'auc', scope: 'overall', bound: 'x', atLeast: 0.8 }],
    };
    expect(() => loadScenario(scenario(bad))).toThrow(/criteria: rules\[0\]\.bound: Invalid option/);
  });

  it('the demo output shows each scope’s verdict and the rules that did not pass', () => {
    const model = { modelId: 'mdl_1', vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) };
    const row = (siteId: string, regionId: string, tp: number) => ({
      modelId: model.modelId,
      siteId,
      regionId,
      report: siteReport({ campaignId: 'c', jobId: `j-${siteId}`, siteId, model: { ...model } }, { tp }),
    });
    const comparison = buildComparison({
      generatedAt: new Date(),
      models: [model],
      reports: [row('site-a', 'north', 19), row('site-c', 'south', 6)],
    });
    const criteria = Criteria.parse({
      schema: 'cairn.criteria/v1',
      rules: [{ metric: 'sensitivity', scope: 'region', bound: 'ciLow', atLeast: 0.7 }],
    });
    const text = renderComparison(
      withVerdicts(comparison, { criteria, sha256: 'b'.repeat(64), postHoc: true, attachedAt: new Date() }),
    );
    const verdicts = text.slice(text.indexOf('verdicts ('));
    const line = (start: string) => verdicts.split('\n').find((l) => l.trimStart().startsWith(start)) ?? '';
    expect(text).toContain('verdicts (criteria bbbbbbbbbbbb…, POST HOC');
    expect(line('region north').trim()).toBe('region north  PASS');
    expect(line('region south')).toMatch(/FAIL +rule 0 fail: sensitivity 95% CI .* lies below 0\.700/);
    expect(line('overall')).toMatch(/INCONCLUSIVE$/);
  });
});
