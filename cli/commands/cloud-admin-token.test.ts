import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCloudApp } from '../../functions/app.ts';
import { depsFromEnv } from '../../functions/deps-from-env.ts';
import { runCairn } from '../../test/support/cli-runner.ts';

const cairn = (args: string[], env: NodeJS.ProcessEnv) =>
  runCairn(args, { CAIRN_DATABASE_URL: '', CAIRN_DATABASE_AUTH_TOKEN: '', ...env });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-admin-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('cairn cloud admin-token (a deployed cloud’s first admin)', () => {
  it('writes a working admin token once, mode 0600, and refuses a second', async () => {
    const env = { CAIRN_DATABASE_URL: `file:${join(dir, 'cairn.db')}` };
    const out = join(dir, 'admin-token');
    const first = await cairn(['cloud', 'admin-token', '--out', out], env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).not.toContain(readFileSync(out, 'utf8').trim());
    expect(statSync(out).mode & 0o777).toBe(0o600);

    // The API the Lambda serves from the same database accepts it.
    const deps = await depsFromEnv({ ...env, CAIRN_DATA_DIR: dir });
    try {
      const app = createCloudApp(deps);
      const token = readFileSync(out, 'utf8').trim();
      expect(
        (await app.request('/v1/regions', { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
      expect(
        (await app.request('/v1/regions', { headers: { authorization: 'Bearer cairn_api_x' } })).status,
      ).toBe(401);
    } finally {
      deps.db.$client.close();
    }

    const second = await cairn(['cloud', 'admin-token', '--out', join(dir, 'again')], env);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/^cairn: this cloud already has an admin token/);
    expect(existsSync(join(dir, 'again'))).toBe(false);
  });

  it('without CAIRN_DATABASE_URL: one line saying so', async () => {
    const r = await cairn(['cloud', 'admin-token', '--out', join(dir, 't')], {});
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/CAIRN_DATABASE_URL/)]);
  });
});
