/**
 * `npm run bench:hostile:cloud`: the cloud's memory while it takes four 500 MiB models at once and then serves
 * them to four downloads at once. Starts the embedded cloud (`cairn cloud serve`, its own process), measures
 * its idle RSS, then samples its RSS (/proc/PID/status VmRSS, every 20 ms, and VmHWM) through four concurrent
 * multipart uploads of a valid 500 MiB ONNX (the demo detector with one 500 MiB initializer, written to a temp
 * file as a stream) and four concurrent downloads, and prints idle, peak and peak − idle against the bound
 * (idle + 300 MiB). Not a test: it writes about 3 GiB to the temp folder and takes tens of seconds.
 * `--mib N` changes the model size.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startCloudProcess } from '../cli/demo/cloud-process.ts';
import { ModelManifest } from '../schemas/model-manifest.ts';
import { largeOnnxHeader } from '../synthetic/large-onnx.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../synthetic/model.ts';

const MiB = 1024 * 1024;
const mibArg = process.argv.indexOf('--mib');
const MODEL_MIB = mibArg > 0 ? Number(process.argv[mibArg + 1]) : 500;
const TRANSFERS = 4;
const BOUND_MIB = 300;

function rssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Samples the server's RSS until stopped; returns the peak seen (KiB). */
function sampleRss(pid: number) {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid).rss);
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssKiB(pid).rss);
  };
}

/** A valid ONNX of `weightMiB` MiB of weights, streamed to `path` (pseudo-random weights, 1 MiB at a time). */
async function writeLargeModel(path: string, weightMiB: number): Promise<{ size: number; sha256: string }> {
  const head = largeOnnxHeader(buildNoduleDetectorOnnx(1), weightMiB * MiB);
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  async function* bytes() {
    hash.update(head);
    yield head;
    for (let i = 0; i < weightMiB; i++) {
      block.writeUInt32LE(i, 0); // no two blocks alike
      hash.update(block);
      yield block;
    }
  }
  await pipeline(bytes, createWriteStream(path));
  return { size: statSync(path).size, sha256: hash.digest('hex') };
}

/** POST /v1/models as a streamed multipart body (the file is read as it is sent). */
function upload(url: string, token: string, manifest: unknown, file: string, size: number) {
  const boundary = `cairn-bench-${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="manifest"\r\n\r\n${JSON.stringify(manifest)}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="onnx"; filename="model.onnx"\r\n` +
      'content-type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${url}/v1/models`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.byteLength + size + tail.byteLength,
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.write(head);
    const file$ = createReadStream(file, { highWaterMark: MiB });
    file$.pipe(req, { end: false });
    file$.once('end', () => req.end(tail));
    file$.once('error', reject);
  });
}

/** GET /v1/models/:id/onnx, hashed as it arrives. */
function download(url: string, token: string, modelId: string) {
  return new Promise<{ status: number; size: number; sha256: string }>((resolve, reject) => {
    const req = request(`${url}/v1/models/${modelId}/onnx`, {
      headers: { authorization: `Bearer ${token}` },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.byteLength;
        hash.update(c);
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, size, sha256: hash.digest('hex') }));
    });
    req.end();
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-hostile-'));
  const cloud = await startCloudProcess(join(dir, 'cloud'));
  try {
    const token = readFileSync(cloud.adminTokenPath, 'utf8').trim();
    const file = join(dir, 'large.onnx');
    const t0 = performance.now();
    const model = await writeLargeModel(file, MODEL_MIB);
    console.info(
      `model: ${(model.size / MiB).toFixed(1)} MiB valid ONNX written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const vendor = await fetch(`${cloud.url}/v1/vendors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'acme-ai', name: 'Acme AI' }),
    });
    if (vendor.status !== 201) throw new Error(`vendor create: ${vendor.status}`);

    await new Promise((r) => setTimeout(r, 1000));
    const idle = rssKiB(cloud.pid).rss;

    const manifest = (i: number) =>
      ModelManifest.parse({ ...demoManifest(1), version: `1.0.${i}`, description: undefined });
    const t1 = performance.now();
    const stopUp = sampleRss(cloud.pid);
    const ups = await Promise.all(
      Array.from({ length: TRANSFERS }, (_, i) => upload(cloud.url, token, manifest(i), file, model.size)),
    );
    const upPeak = stopUp();
    const upSeconds = (performance.now() - t1) / 1000;
    for (const u of ups) if (u.status !== 201) throw new Error(`upload: ${u.status} ${u.body.slice(0, 300)}`);
    const ids = ups.map((u) => (JSON.parse(u.body) as { modelId: string; sha256: string }).modelId);
    const pinned = (JSON.parse(ups[0]!.body) as { sha256: string }).sha256;
    if (pinned !== model.sha256) throw new Error('the cloud pinned another sha256 than the file has');

    const t2 = performance.now();
    const stopDown = sampleRss(cloud.pid);
    const downs = await Promise.all(ids.map((id) => download(cloud.url, token, id)));
    const downPeak = stopDown();
    const downSeconds = (performance.now() - t2) / 1000;
    for (const d of downs)
      if (d.status !== 200 || d.sha256 !== model.sha256 || d.size !== model.size)
        throw new Error(`download: ${d.status}, ${d.size} bytes, sha256 ${d.sha256.slice(0, 12)}…`);
    const hwm = rssKiB(cloud.pid).hwm;

    const mib = (kib: number) => (kib / 1024).toFixed(0);
    const peak = Math.max(upPeak, downPeak);
    const within = peak - idle <= BOUND_MIB * 1024;
    console.info(`cloud idle RSS:                          ${mib(idle)} MiB`);
    console.info(
      `${TRANSFERS} concurrent ${MODEL_MIB} MiB uploads:  ${upSeconds.toFixed(1)} s, peak RSS ${mib(upPeak)} MiB (+${mib(upPeak - idle)})`,
    );
    console.info(
      `${TRANSFERS} concurrent ${MODEL_MIB} MiB downloads: ${downSeconds.toFixed(1)} s, peak RSS ${mib(downPeak)} MiB (+${mib(downPeak - idle)})`,
    );
    console.info(`peak − idle: ${mib(peak - idle)} MiB (VmHWM since start ${mib(hwm)} MiB)`);
    console.info(`within idle + ${BOUND_MIB} MiB: ${within ? 'yes' : 'NO'}`);
    if (!within) process.exitCode = 1;
  } finally {
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
