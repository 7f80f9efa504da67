import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createFsBlobStore } from '../infra/blob-store-fs.ts';
import { systemClock } from '../infra/clock.ts';
import { openDatabase } from '../infra/database.ts';
import { createFileLog } from '../infra/operational-log.ts';
import { createDbQueue } from '../infra/queue-db.ts';
import { createCloudApp } from './app.ts';
import { bootstrapAdminToken } from './bootstrap-admin.ts';
import type { CloudDeps, CloudLimits } from './deps.ts';
import { type EmbeddedIngestOptions, startEmbeddedIngest } from './ingest/embedded.ts';
import { CLOUD_VERSION } from './version.ts';

export interface ServeCloudOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: a self-hosted cloud is exposed through a reverse proxy that terminates TLS. */
  host?: string;
  /** Holds cairn.db, blobs/, logs/cloud.log and admin-token. */
  dataDir: string;
  limits?: Partial<CloudLimits>;
  ingest?: EmbeddedIngestOptions;
}

export interface ServedCloud {
  url: string;
  port: number;
  adminTokenPath: string;
  close(): Promise<void>;
}

/**
 * The embedded cloud on one machine: the API on @hono/node-server, a libSQL file, blobs in a folder, the
 * queue as a table, and ingest polling it in the same process. Restarting on the same dataDir serves the
 * same data.
 */
export async function serveCloud(opts: ServeCloudOptions): Promise<ServedCloud> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const clock = systemClock;
  const db = await openDatabase(`file:${join(opts.dataDir, 'cairn.db')}`);
  const log = createFileLog(join(opts.dataDir, 'logs', 'cloud.log'));
  const deps: CloudDeps = {
    db,
    blobs: createFsBlobStore(join(opts.dataDir, 'blobs')),
    queue: createDbQueue(db, clock),
    clock,
    log,
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  const adminTokenPath = join(opts.dataDir, 'admin-token');
  try {
    await bootstrapAdminToken(db, clock.now(), adminTokenPath, deps);
  } catch (err) {
    db.$client.close();
    throw err;
  }

  const app = createCloudApp(deps);
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, () => resolve(s));
    s.once('error', reject);
  }).catch((err) => {
    db.$client.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  const stopIngest = startEmbeddedIngest(deps, opts.ingest);
  log.write({ time: clock.now().toISOString(), event: 'startup', code: `version-${CLOUD_VERSION}` });

  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    adminTokenPath,
    close() {
      closing ??= (async () => {
        await stopIngest();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections would hold close() open for their idle timeout.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        db.$client.close();
      })();
      return closing;
    },
  };
}
