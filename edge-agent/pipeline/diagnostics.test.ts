import { describe, expect, it } from 'vitest';
import { RunDiagnostics } from './diagnostics.ts';

describe('RunDiagnostics', () => {
  it('keeps what failed in its own words, one line each, and only the first 20 (then how many more)', () => {
    const d = new RunDiagnostics();
    d.note('inference', new Error('Non-zero status code\nreturned while running Reshape'));
    d.note('codecs', 'wasm failed to load');
    for (let i = 0; i < 25; i++) d.note('inference', new Error(`batch ${i}`));
    const lines = d.all();
    expect(lines[0]).toBe('inference: Non-zero status code returned while running Reshape');
    expect(lines[1]).toBe('codecs: wasm failed to load');
    expect(lines).toHaveLength(21);
    expect(lines.at(-1)).toBe('… and 7 more');
  });

  it('cuts a very long message', () => {
    const d = new RunDiagnostics();
    d.note('worker', new Error('x'.repeat(5000)));
    expect(d.all()[0]!.length).toBeLessThan(520);
  });
});
