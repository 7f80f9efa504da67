/** The layer rules (scripts/check-layers.ts) hold over every import in the tree, tests included. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers, layerViolations, librarySources } from '../scripts/check-layers.ts';

const ROOT = join(import.meta.dirname, '..');

describe('house rules: layers', () => {
  it('sees static, re-exported and dynamic imports, and only the forbidden ones', () => {
    const text = [
      "import a from '../cli/errors.ts';",
      "export { b } from '../functions/deps.ts';",
      "await import('../edge-agent/run.ts');",
      "import c from './queue.ts';",
    ].join('\n');
    expect(layerViolations('infra/x.ts', text)).toEqual([
      'infra/x.ts imports cli/errors.ts: a library imports the app',
      'infra/x.ts imports functions/deps.ts: infra imports a side it serves',
      'infra/x.ts imports edge-agent/run.ts: infra imports a side it serves',
    ]);
    expect(layerViolations('functions/x.ts', text)).toEqual([
      'functions/x.ts imports cli/errors.ts: a library imports the app',
    ]);
    expect(layerViolations('cli/x.ts', text)).toEqual([]);
  });

  it('no library imports cli/, and infra/ imports neither functions/ nor edge-agent/ (tests included)', () => {
    expect(librarySources(ROOT).length).toBeGreaterThan(100);
    expect(checkLayers(ROOT)).toEqual([]);
  });
});
