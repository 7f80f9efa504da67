import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/demo/cloud-process.ts';

/**
 * A throwaway OpenStack Swift with its S3 layer (s3api + tempauth), from Debian's packages, for tests that need
 * an S3 server which checks SigV4 signatures: a tampered, expired or wrongly keyed request gets 403.
 *
 * Four processes this test owns (proxy, account, container and object servers, `workers = 0`, no
 * replicators, auditors or other daemons), on free ports on 127.0.0.1, with their configuration, one-device
 * rings (one partition, one replica) and the device's files in one temp dir that `stop()` deletes. No root
 * needed: the servers run as the current user (`user =` is whoever started the test; Swift's privilege drop
 * is then a no-op) with `mount_check = false`.
 *
 * - Extended attributes: Swift's object server keeps each object's metadata (name, ETag, Content-Type...,
 *   about 400 bytes) in `user.*` xattrs of its data file and has no option to do without them. The temp dir
 *   goes on the first of tmpdir(), /dev/shm, /var/tmp whose filesystem accepts a 1 KiB `user.*` xattr (ext4,
 *   xfs, btrfs and tmpfs on Linux ≥ 6.6 do; ext4 keeps them within one 4 KiB block, plenty here).
 * - memcached: not needed. tempauth insists on the proxy's cache middleware being in the pipeline, but works
 *   when no memcached answers (nothing is cached: each S3 request has its signature checked anyway). The cache
 *   points at 127.0.0.1:1, a privileged port nothing listens on, so that it never talks to another test's port.
 * - /etc/swift/swift.conf (the hash path prefix/suffix and storage policy 0) is Debian's: Swift's servers
 *   read it from that fixed path whatever `swift_dir` says; only the rings are read from the temp dir.
 * - The servers start in their own sessions (Swift calls setsid), so a Ctrl-C would not reach them; each is
 *   started with PR_SET_PDEATHSIG so that it dies with the test process even if `stop()` never runs.
 */
export interface SwiftS3 {
  /** The proxy, e.g. http://127.0.0.1:41234 (path-style buckets: use `forcePathStyle`). */
  endpoint: string;
  /** tempauth's `account:user`; the account owns the buckets this user creates. */
  accessKeyId: string;
  secretAccessKey: string;
  /** s3api's `location`: the region requests must be signed for. */
  region: string;
  stop(): Promise<void>;
}

const PACKAGES = 'apt-get install swift-proxy swift-object swift-container swift-account';
/** Debian's interpreter: the python3 on PATH may be a separate build that cannot import Debian's modules. */
const DEBIAN_PYTHON = '/usr/bin/python3';
const BACKENDS = ['account', 'container', 'object'] as const;
const SERVERS = [...BACKENDS, 'proxy'] as const;
type Server = (typeof SERVERS)[number];
/** The proxy's middleware without settings (Swift would add the required ones itself, with a warning). */
const PLAIN_FILTERS = [
  'catch_errors',
  'gatekeeper',
  'healthcheck',
  'proxy-logging',
  'listing_formats',
  'copy',
  'slo',
  'dlo',
  'versioned_writes',
];

/**
 * Picks the temp dir (the first candidate whose filesystem takes user xattrs) and writes the three rings into
 * it: what `swift-ring-builder X.builder create 0 1 1; add r1z1-127.0.0.1:PORT/d1 1; rebalance` does, through
 * the same RingBuilder, in one interpreter instead of nine.
 */
const PREPARE = `
import json, os, shutil, sys, tempfile
try:
    from swift.common.ring import RingBuilder
    import swift.common.middleware.s3api.s3api, swift.common.middleware.tempauth, swift.proxy.server
    from swift.common.utils import validate_configuration
except ImportError as e:
    print(json.dumps({'error': 'cannot import Swift in ' + sys.executable + ': ' + str(e)}))
    sys.exit()
try:
    validate_configuration()  # /etc/swift/swift.conf, which the servers read whatever swift_dir says
except BaseException as e:
    print(json.dumps({'error': str(e)}))
    sys.exit()
ports = json.loads(sys.argv[1])
tried = []
for base in sys.argv[2:]:
    try:
        d = tempfile.mkdtemp(prefix='cairn-swift-', dir=base)
    except OSError as e:
        tried.append(base + ': ' + str(e))
        continue
    try:
        probe = os.path.join(d, 'xattr-probe')
        open(probe, 'wb').close()
        os.setxattr(probe, 'user.swift.metadata', b'x' * 1024)
        os.unlink(probe)
        break
    except OSError as e:
        tried.append(base + ': ' + str(e))
        shutil.rmtree(d, ignore_errors=True)
else:
    print(json.dumps({'error': 'no temp dir whose filesystem takes user xattrs (Swift stores object metadata '
                               'in them): ' + '; '.join(tried)}))
    sys.exit()
os.makedirs(os.path.join(d, 'devices', 'd1'))
for name in ('account', 'container', 'object'):
    builder = RingBuilder(0, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': ports[name],
                     'device': 'd1', 'weight': 1, 'meta': ''})
    builder.rebalance()
    builder.get_ring().save(os.path.join(d, name + '.ring.gz'))
print(json.dumps({'dir': d}))
`;

/** Runs argv[2:] (exec, same pid) with PR_SET_PDEATHSIG = SIGKILL, unless its parent, argv[1], is gone. */
const DIE_WITH_PARENT = `
import ctypes, os, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGKILL)
if os.getppid() != int(sys.argv[1]):
    sys.exit('parent exited')
os.execvp(sys.argv[2], sys.argv[2:])
`;

function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir && existsSync(join(dir, cmd)));
}

function prepare(ports: Record<Server, number>): Promise<string> {
  const candidates = [...new Set([tmpdir(), '/dev/shm', '/var/tmp'])];
  return new Promise((resolve, reject) => {
    execFile(DEBIAN_PYTHON, ['-c', PREPARE, JSON.stringify(ports), ...candidates], (err, stdout, stderr) => {
      if (err) {
        const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ` not found (${PACKAGES})` : '';
        reject(new Error(`${DEBIAN_PYTHON}${hint}: ${err.message}\n${stderr}`));
        return;
      }
      const out = JSON.parse(stdout) as { dir?: string; error?: string };
      if (out.dir) resolve(out.dir);
      else reject(new Error(`Swift cannot start: ${out.error} (${PACKAGES})`));
    });
  });
}

function config(server: Server, dir: string, port: number, extra: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
bind_timeout = 5
workers = 0
user = ${userInfo().username}
swift_dir = ${dir}
devices = ${join(dir, 'devices')}
mount_check = false
disable_fallocate = true
recon_cache_path = ${dir}
log_name = ${server}-server

${extra}`;
}

export async function startSwiftS3(): Promise<SwiftS3> {
  const missing = SERVERS.map((s) => `swift-${s}-server`).filter((cmd) => !onPath(cmd));
  if (missing.length)
    throw new Error(`OpenStack Swift is not installed: ${missing.join(', ')} not on PATH (${PACKAGES})`);

  const ports = {} as Record<Server, number>;
  for (const s of SERVERS) ports[s] = await freePort();
  const dir = await prepare(ports);

  const account = 'cairn';
  const user = 'tester';
  const secretAccessKey = randomBytes(20).toString('hex');
  const region = 'us-east-1';
  for (const s of BACKENDS)
    writeFileSync(
      join(dir, `${s}-server.conf`),
      config(
        s,
        dir,
        ports[s],
        `[pipeline:main]\npipeline = ${s}-server\n\n[app:${s}-server]\nuse = egg:swift#${s}\n`,
      ),
    );
  writeFileSync(
    join(dir, 'proxy-server.conf'),
    config(
      'proxy',
      dir,
      ports.proxy,
      `[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = ${region}

[filter:tempauth]
use = egg:swift#tempauth
user_${account}_${user} = ${secretAccessKey} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:1

${PLAIN_FILTERS.map((f) => `[filter:${f}]\nuse = egg:swift#${f.replace('-', '_')}\n`).join('\n')}`,
    ),
  );

  const procs: { server: Server; proc: ChildProcess; closed: () => boolean; log: () => string }[] =
    SERVERS.map((server) => {
      const proc = spawn(
        DEBIAN_PYTHON,
        [
          '-c',
          DIE_WITH_PARENT,
          String(process.pid),
          `swift-${server}-server`,
          join(dir, `${server}-server.conf`),
          '-v',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      const keep = (d: Buffer) => {
        out = (out + d).slice(-4000);
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      // 'close' comes after 'exit', once the process's output has all been read.
      let closed = false;
      proc.once('close', () => {
        closed = true;
      });
      return { server, proc, closed: () => closed, log: () => out };
    });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Nothing to keep: SIGKILL (a graceful SIGTERM takes Swift's servers about 2 s each).
    await Promise.all(
      procs.map(({ proc }) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${ports.proxy}`;
  const deadline = Date.now() + 30_000;
  const answers = async (server: Server) => {
    try {
      // The backends answer anything (a 400 here) once they listen; the proxy has /healthcheck.
      const res = await fetch(
        `http://127.0.0.1:${ports[server]}${server === 'proxy' ? '/healthcheck' : '/'}`,
      );
      await res.arrayBuffer();
      return server !== 'proxy' || res.ok;
    } catch {
      return false;
    }
  };
  const waiting = new Set<Server>(SERVERS);
  while (waiting.size) {
    const died = procs.find((p) => p.closed());
    if (died) {
      await stop();
      const how = died.proc.signalCode ?? `code ${died.proc.exitCode}`;
      throw new Error(`swift-${died.server}-server exited at start (${how}):\n${died.log()}`);
    }
    for (const s of [...waiting]) if (await answers(s)) waiting.delete(s);
    if (!waiting.size) break;
    if (Date.now() > deadline) {
      const logs = procs.filter((p) => waiting.has(p.server)).map((p) => `${p.server}: ${p.log()}`);
      await stop();
      throw new Error(`Swift did not answer within 30 s:\n${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { endpoint, accessKeyId: `${account}:${user}`, secretAccessKey, region, stop };
}
