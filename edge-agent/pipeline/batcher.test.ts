import { describe, expect, it } from 'vitest';
import { RunAccounting } from './accounting.ts';
import { StudyAggregator } from './aggregate.ts';
import { Batcher } from './batcher.ts';

const tensor = () => new Float32Array(4);

function setup(batchSize: number, rule: 'max' | 'mean' = 'max') {
  const accounting = new RunAccounting();
  const aggregator = new StudyAggregator(rule);
  return { accounting, aggregator, batcher: new Batcher(batchSize, accounting, aggregator) };
}

describe('Batcher', () => {
  it('cuts the queue into batches and uses a multi-frame instance only once all its frames scored', () => {
    const { accounting, aggregator, batcher } = setup(2, 'mean');
    batcher.open(0, { study: 's1', sop: 'a', frames: 3 });
    batcher.push(0, [tensor(), tensor()], false);
    expect(batcher.hasFullBatch).toBe(true);
    const first = batcher.take();
    expect(first).toHaveLength(2);
    expect(batcher.record(first, [0.2, 0.4])).toEqual([]);
    expect(accounting.used).toBe(0);
    batcher.push(0, [tensor()], true);
    const last = batcher.take();
    expect(last).toHaveLength(1);
    expect(batcher.record(last, [0.6])).toEqual([
      {
        sopInstanceUid: 'a',
        studyInstanceUid: 's1',
        frames: 3,
        scoreMax: 0.6,
        scoreSum: expect.closeTo(1.2),
      },
    ]);
    expect({
      used: accounting.used,
      inferred: accounting.inferred,
      decoded: accounting.framesDecoded,
    }).toEqual({
      used: 1,
      inferred: 3,
      decoded: 3,
    });
    expect(aggregator.result().get('s1')).toBeCloseTo(0.4);
    expect(batcher.inFlight).toBe(0);
  });

  it('excludes an instance that failed mid-way once, dropping its queued frames from later batches', () => {
    const { accounting, batcher } = setup(4);
    batcher.open(0, { study: 's1', sop: 'a', frames: 4 });
    batcher.open(1, { study: 's1', sop: 'b', frames: 1 });
    batcher.push(0, [tensor(), tensor()], false);
    batcher.push(1, [tensor()], true);
    expect(batcher.fail(0, 'decode-error')).toBe(true);
    // Its two queued frames are still out: the instance is settled when they are dropped, not before.
    expect(accounting.excludedTotal).toBe(0);
    const batch = batcher.take();
    expect(batch.map((b) => b.id)).toEqual([1]);
    batcher.record(batch, [0.9]);
    expect(accounting.excluded).toEqual({ 'decode-error': 1 });
    expect(accounting.used).toBe(1);
    expect(batcher.fail(7, 'decode-error')).toBe(false);
  });

  it('a batch the runtime failed, or answered with the wrong count or a NaN, excludes its instances as inference-error', () => {
    const { accounting, batcher } = setup(8);
    for (const id of [0, 1, 2]) {
      batcher.open(id, { study: 's', sop: `i${id}`, frames: 1 });
      batcher.push(id, [tensor()], true);
    }
    const batch = batcher.take();
    expect(batcher.record(batch.slice(0, 1), undefined)).toEqual([]);
    expect(batcher.record(batch.slice(1), [0.5, Number.NaN])).toHaveLength(1);
    expect(accounting.excluded).toEqual({ 'inference-error': 2 });
    expect(accounting.used).toBe(1);
  });

  it('is full at three batches queued: the back-pressure mark', () => {
    const { batcher } = setup(2);
    batcher.open(0, { study: 's', sop: 'a', frames: 6 });
    batcher.push(0, Array.from({ length: 5 }, tensor), false);
    expect(batcher.full).toBe(false);
    batcher.push(0, [tensor()], true);
    expect(batcher.full).toBe(true);
    batcher.take();
    expect(batcher.full).toBe(false);
  });

  it('drops frames of an instance it does not hold (skipped or already excluded), counting them as decoded', () => {
    const { accounting, batcher } = setup(2);
    batcher.push(5, [tensor()], true);
    expect(batcher.queued).toBe(0);
    expect(accounting.framesDecoded).toBe(1);
  });
});
