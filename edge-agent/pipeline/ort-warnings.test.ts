import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const worker = fileURLToPath(new URL('./ort-warnings.worker.ts', import.meta.url));
const load = (env: NodeJS.ProcessEnv) => {
  const merged = { ...process.env, ...env };
  if (!env.CAIRN_DEBUG) delete merged.CAIRN_DEBUG;
  return spawnSync(process.execPath, ['--import', 'tsx', worker], { encoding: 'utf8', env: merged });
};

describe("ONNX Runtime's warnings (provider probing, model hygiene)", () => {
  it('stay off stderr in normal runs and show with CAIRN_DEBUG', () => {
    const quiet = load({});
    expect(quiet.stdout).toBe('cpu\n');
    expect(quiet.stderr).not.toContain('onnxruntime');
    const debug = load({ CAIRN_DEBUG: '1' });
    expect(debug.stdout).toBe('cpu\n');
    expect(debug.stderr).toMatch(/\[W:onnxruntime.*Removing initializer 'unused'/);
  });
});
