import { describe, expect, it } from 'vitest';
import { RunAccounting } from './accounting.ts';
import type { PipelineProgress } from './pipeline-types.ts';

describe('RunAccounting', () => {
  it('counts exclusions by reason and cached use, and reports progress every 100 settled items', () => {
    const seen: PipelineProgress[] = [];
    const a = new RunAccounting((p) => seen.push(p));
    for (let i = 0; i < 150; i++) {
      a.seen++;
      if (i % 3 === 0) a.exclude('duplicate-instance');
      else a.useCached(i % 2 === 0);
      a.progress();
    }
    expect(a.used + a.excludedTotal).toBe(a.seen);
    expect(a.excluded).toEqual({ 'duplicate-instance': 50 });
    expect({ cached: a.cached, skipped: a.downloadsSkipped }).toEqual({ cached: 100, skipped: 50 });
    expect(seen.map((p) => p.used + p.excluded)).toEqual([100]);
    a.progress(true);
    expect(seen.at(-1)).toMatchObject({ filesSeen: 150, used: 100, excluded: 50, cached: 100 });
    // A later change to the counts does not reach a progress already reported.
    a.exclude('unreadable');
    expect(seen.at(-1)?.excludedByReason).toEqual({ 'duplicate-instance': 50 });
  });

  it('gives an ETA only once the source said how many items it has', () => {
    const seen: PipelineProgress[] = [];
    const a = new RunAccounting((p) => seen.push(p));
    a.seen = 1;
    a.used = 1;
    a.progress(true);
    expect(seen[0]?.filesTotal).toBeUndefined();
    expect(seen[0]?.etaSeconds).toBeUndefined();
    a.filesTotal = 10;
    a.progress(true);
    expect(seen[1]?.filesTotal).toBe(10);
    expect(seen[1]?.etaSeconds).toBeGreaterThanOrEqual(0);
  });
});
