import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { createFsBlobStore } from '../infra/blob-store-fs.ts';
import { systemClock } from '../infra/clock.ts';
import { createFileLog } from '../infra/operational-log.ts';
import { createDbQueue } from '../infra/queue-db.ts';
import { createCloudApp } from './app.ts';
import { bootstrapAdminToken } from './bootstrap-admin.ts';
import { type Database, openDatabase } from './db/database.ts';
import { type CloudDeps, type CloudLimits, REPORTS_TOPIC } from './deps.ts';
import { type EmbeddedIngestOptions, startEmbeddedIngest } from './ingest/embedded.ts';
import { approvalMonthsFromEnv } from './rollouts/lifecycle.ts';
import { lockDataDir } from './serve-lock.ts';
import { CLOUD_VERSION } from './version.ts';

export interface ServeCloudOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: a self-hosted cloud is exposed through a reverse proxy that terminates TLS. */
  host?: string;
  /** Holds cairn.db, blobs/, logs/cloud.log, admin-token and serve.lock. */
  dataDir: string;
  limits?: Partial<CloudLimits>;
  ingest?: EmbeddedIngestOptions;
  /**
   * How long one request may take to arrive, headers and body (default 300 s: a 512 MiB model at ~2 MB/s);
   * a client sending more slowly is answered 408 and cut off, so slow senders cannot hold connections open.
   */
  requestTimeoutMs?: number;
}

export interface ServedCloud {
  url: string;
  port: number;
  adminTokenPath: string;
  close(): Promise<void>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
const HEADERS_TIMEOUT_MS = 30_000;
/** Connections the kernel queues before the server accepts them (also capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

/** What a first start creates in the data folder: removed again if that start fails. */
const CREATED_ON_START = [
  'cairn.db',
  'cairn.db-wal',
  'cairn.db-shm',
  'admin-token',
  'blobs',
  'logs',
] as const;

/**
 * The embedded cloud on one machine: the API on @hono/node-server, a libSQL file, blobs in a folder, the
 * queue as a table, and ingest polling it in the same process. Restarting on the same dataDir serves the
 * same data; one process serves a folder at a time (serve.lock). The folder is 0700 and the database files
 * 0600. A start that fails (the port in use, say) leaves nothing it created behind: no folder, no database,
 * no admin token for a cloud that never ran.
 */
export async function serveCloud(opts: ServeCloudOptions): Promise<ServedCloud> {
  const folderExisted = existsSync(opts.dataDir);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(opts.dataDir, 0o700);
  const existed = new Set(CREATED_ON_START.filter((f) => existsSync(join(opts.dataDir, f))));
  let release: (() => void) | undefined;
  let db: Database | undefined;
  try {
    release = lockDataDir(opts.dataDir);
    db = await openPrivateDatabase(opts.dataDir);
    return await start(opts, db, release);
  } catch (err) {
    db?.$client.close();
    release?.();
    if (!folderExisted) rmSync(opts.dataDir, { recursive: true, force: true });
    else
      for (const f of CREATED_ON_START)
        if (!existed.has(f)) rmSync(join(opts.dataDir, f), { recursive: true, force: true });
    throw err;
  }
}

/**
 * cairn.db created 0600 before SQLite opens it, so its -wal and -shm (which SQLite creates with the
 * database's mode) are 0600 too; files left by an older version are tightened.
 */
async function openPrivateDatabase(dataDir: string): Promise<Database> {
  const file = join(dataDir, 'cairn.db');
  if (!existsSync(file)) writeFileSync(file, '', { mode: 0o600, flag: 'wx' });
  const db = await openDatabase(`file:${file}`);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  return db;
}

async function start(opts: ServeCloudOptions, db: Database, release: () => void): Promise<ServedCloud> {
  const clock = systemClock;
  const log = createFileLog(join(opts.dataDir, 'logs', 'cloud.log'));
  const queue = createDbQueue(db, clock);
  const deps: CloudDeps = {
    db,
    blobs: createFsBlobStore(join(opts.dataDir, 'blobs')),
    queue,
    clock,
    log,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...approvalMonthsFromEnv(process.env),
  };
  const app = createCloudApp(deps);
  const host = opts.host ?? '127.0.0.1';
  const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Listen before the admin token is minted: a port in use must not leave a token for a cloud that never ran.
  const server = createAdaptorServer({
    fetch: app.fetch,
    serverOptions: {
      requestTimeout,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      // Node checks the timeouts on this period (30 s by default, longer than a short timeout).
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))),
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // serve() listens with Node's default backlog (511): a thousand agents connecting at once would overflow it.
    server.listen({ port: opts.port ?? 0, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stopServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections would hold close() open for their idle timeout.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  const adminTokenPath = join(opts.dataDir, 'admin-token');
  try {
    await bootstrapAdminToken(db, clock.now(), adminTokenPath, deps);
  } catch (err) {
    await stopServer();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  // This process alone serves the folder (serve.lock): reports a killed predecessor had in hand go now, not
  // after their visibility window.
  await queue.releaseClaims(REPORTS_TOPIC);
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
        await stopServer();
        db.$client.close();
        release();
      })();
      return closing;
    },
  };
}
