import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearDemoRoot } from './demo.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-demo-root-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the built-in demo’s --out folder', () => {
  it('clears a previous demo run and accepts a missing folder', () => {
    mkdirSync(join(dir, 'input'), { recursive: true });
    mkdirSync(join(dir, 'run'), { recursive: true });
    writeFileSync(join(dir, 'input', 'scenario.json'), '{}');
    clearDemoRoot(dir);
    expect(existsSync(dir)).toBe(false);
    clearDemoRoot(join(dir, 'missing'));
  });

  it('never wipes a folder holding anything else', () => {
    writeFileSync(join(dir, 'thesis.tex'), 'months of work');
    expect(() => clearDemoRoot(dir)).toThrow(/holds other files/);
    expect(existsSync(join(dir, 'thesis.tex'))).toBe(true);
  });
});
