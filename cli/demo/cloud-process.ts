import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../errors.ts';

export const CAIRN_BIN = fileURLToPath(new URL('../../bin/cairn.mjs', import.meta.url));

/** A port nobody is listening on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface CloudProcess {
  url: string;
  pid: number;
  adminTokenPath: string;
  stop(): Promise<void>;
}

/**
 * Starts `cairn cloud serve` as its own process on a free port and waits until it answers /v1/health.
 * `detached` lets it outlive this process (`--keep`); its output goes to `<data>/logs/serve.out`.
 */
export async function startCloudProcess(
  dataDir: string,
  opts: { detached?: boolean } = {},
): Promise<CloudProcess> {
  const port = await freePort();
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const out = openSync(join(dataDir, 'logs', 'serve.out'), 'a');
  const child: ChildProcess = spawn(
    process.execPath,
    [CAIRN_BIN, 'cloud', 'serve', '--port', String(port), '--data', dataDir],
    { stdio: ['ignore', out, out], detached: Boolean(opts.detached) },
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new CliError(`the cloud process exited (code ${code}); see ${dataDir}/logs/serve.out`)),
    ),
  );
  exited.catch(() => {});
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v1/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) await exited;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new CliError(`the cloud did not start within 60 s; see ${dataDir}/logs/serve.out`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  if (opts.detached) child.unref();
  return {
    url,
    pid: child.pid ?? 0,
    adminTokenPath: join(dataDir, 'admin-token'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
