import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { AgentSettings } from '../config.ts';
import { JobFailure } from './job-failure.ts';
import { planMemory, runMemoryBytes } from './memory-budget.ts';
import { tinyModel } from './onnx-model.test-util.ts';
import { scoreFolder } from './score-folder.ts';

const MiB = 1024 * 1024;
const input = (channels: 1 | 3, height: number, width: number) => ({
  name: 'image',
  channels,
  height,
  width,
  normalize: { mean: 0, std: 1 },
  resize: 'bilinear' as const,
});

describe('the memory budget', () => {
  it('leaves a small input at the requested batch size and workers', () => {
    const plan = planMemory({
      budgetMiB: 2048,
      input: input(1, 64, 64),
      modelBytes: MiB,
      batchSize: 32,
      workers: 4,
    });
    expect(plan).toMatchObject({ batchSize: 32, workers: 4 });
    expect(plan.estimateBytes).toBeLessThanOrEqual(2048 * MiB);
  });

  it('lowers the batch size of a large input to the largest that fits, workers kept', () => {
    const large = input(3, 1024, 1024); // 12 MiB a tensor
    const plan = planMemory({
      budgetMiB: 2048,
      input: large,
      modelBytes: 50 * MiB,
      batchSize: 32,
      workers: 4,
    });
    expect(plan.workers).toBe(4);
    expect(plan.batchSize).toBeGreaterThanOrEqual(1);
    expect(plan.batchSize).toBeLessThan(32);
    expect(plan.estimateBytes).toBeLessThanOrEqual(2048 * MiB);
    expect(runMemoryBytes(12 * MiB, 50 * MiB, plan.batchSize + 1, 4)).toBeGreaterThan(2048 * MiB);
  });

  it('lowers workers once the batch is down to one', () => {
    const plan = planMemory({
      budgetMiB: 1024,
      input: input(3, 2048, 2048),
      modelBytes: MiB,
      batchSize: 8,
      workers: 8,
    });
    expect(plan.batchSize).toBe(1);
    expect(plan.workers).toBeLessThan(8);
    expect(plan.estimateBytes).toBeLessThanOrEqual(1024 * MiB);
  });

  it('fits the largest input a manifest may declare (3 × 4096 × 4096) in the default 2 GiB at batch 1', () => {
    const plan = planMemory({
      budgetMiB: 2048,
      input: input(3, 4096, 4096),
      modelBytes: 10 * MiB,
      batchSize: 32,
      workers: 8,
    });
    expect(plan).toMatchObject({ batchSize: 1, workers: 1 });
  });

  it('fails with input-too-large-for-memory-budget when one input cannot fit', () => {
    const err = (() => {
      try {
        return planMemory({
          budgetMiB: 256,
          input: input(3, 2048, 2048),
          modelBytes: MiB,
          batchSize: 1,
          workers: 1,
        });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(JobFailure);
    expect(err).toMatchObject({ code: 'input-too-large-for-memory-budget' });
    expect((err as Error).message).toMatch(/budget is 256 MiB/);
  });

  it('is an agent setting: 2048 MiB by default, at least 256', () => {
    const base = { dicom: '/d', labels: '/l.csv' };
    expect(AgentSettings.parse(base).memoryBudgetMiB).toBe(2048);
    expect(AgentSettings.parse({ ...base, memoryBudgetMiB: 512 }).memoryBudgetMiB).toBe(512);
    expect(AgentSettings.safeParse({ ...base, memoryBudgetMiB: 100 }).success).toBe(false);
    expect(AgentSettings.safeParse({ ...base, memoryBudgetMiB: 1.5 }).success).toBe(false);
  });

  it('a run with a budget too small for the input fails the job before any image is read', async () => {
    const dicomDir = mkdtempSync(join(tmpdir(), 'cairn-budget-'));
    try {
      const manifest = ModelManifest.parse({
        schema: 'cairn.model/v1',
        vendor: 'acme',
        name: 'big-input',
        version: '1.0.0',
        task: 'binary-classification',
        modality: ['CT'],
        input: { name: 'image', channels: 3, height: 2048, width: 2048 },
        output: { name: 'logits', activation: 'none', index: 1 },
        threshold: 0,
        studyAggregation: 'max',
      });
      const model = tinyModel({ channels: 3, height: 2048, width: 2048 });
      const err = await scoreFolder({
        dicomDir,
        manifest,
        model,
        device: 'cpu',
        threads: 1,
        memoryBudgetMiB: 256,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobFailure);
      expect(err).toMatchObject({ code: 'input-too-large-for-memory-budget' });
    } finally {
      rmSync(dicomDir, { recursive: true, force: true });
    }
  });
});
