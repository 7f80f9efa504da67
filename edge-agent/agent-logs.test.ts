import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentLogDir, openAgentLogs } from './agent-logs.ts';

const dir = mkdtempSync(join(tmpdir(), 'cairn-agent-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent logs', () => {
  it('rotates both logs by size, keeping `keep` old files, none past the limit', () => {
    const logs = openAgentLogs(dir, { maxBytes: 400, keep: 2 });
    for (let i = 0; i < 60; i++) {
      logs.event({ event: 'job-finished', jobId: `job-${i}`, status: 'failed', failure: 'no-cases' });
      logs.diagnostic(
        `job job-${i}: no-cases in step join-labels: no study has both a scored image and a label`,
      );
    }
    const logDir = agentLogDir(dir);
    for (const name of ['agent.log', 'diagnostic.log']) {
      const files = [name, `${name}.1`, `${name}.2`].map((f) => join(logDir, f));
      for (const f of files) {
        expect(existsSync(f)).toBe(true);
        expect(statSync(f).size).toBeLessThanOrEqual(400);
      }
      expect(existsSync(join(logDir, `${name}.3`))).toBe(false);
      // The newest entry is in the live file, whole.
      expect(readFileSync(files[0]!, 'utf8')).toContain('job-59');
    }
    const last = readFileSync(join(logDir, 'agent.log'), 'utf8').trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ event: 'job-finished', jobId: 'job-59', failure: 'no-cases' });
    expect(statSync(join(logDir, 'diagnostic.log')).mode & 0o777).toBe(0o600);
  });

  it('keeps a multi-line diagnostic as one entry (continuation lines indented)', () => {
    const logs = openAgentLogs(join(dir, 'multi'));
    logs.diagnostic(
      'job j: inference-failed in step score: ONNX Runtime failed on every image\n  inference: x\n',
    );
    const text = readFileSync(join(agentLogDir(join(dir, 'multi')), 'diagnostic.log'), 'utf8');
    expect(text.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(
        /^\S+ job j: inference-failed in step score: ONNX Runtime failed on every image$/,
      ),
      '    inference: x',
    ]);
  });
});
