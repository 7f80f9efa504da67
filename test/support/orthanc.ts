import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../cli/demo/cloud-process.ts';

/**
 * A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for tests: its own temp storage, a free HTTP port
 * on 127.0.0.1, no DICOM port, no authentication, the DICOMweb plugin at /dicom-web. `stow` loads instances
 * over STOW-RS, the way a modality or a migration tool would.
 */
export interface Orthanc {
  url: string;
  dicomweb: string;
  stow(files: Uint8Array[]): Promise<void>;
  stop(): Promise<void>;
}

const PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export async function startOrthanc(dir: string): Promise<Orthanc> {
  const port = await freePort();
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const config = join(dir, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'cairn-test',
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'storage'),
      HttpPort: port,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomServerEnabled: false,
      Plugins: [PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, StudiesMetadata: 'Full' },
      StableAge: 1,
      ConcurrentJobs: 1,
    }),
  );
  const proc: ChildProcess = spawn('Orthanc', [config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`Orthanc exited at start: ${stderr}`);
    try {
      const r = await fetch(`${url}/system`);
      if (r.ok) {
        const plugins = (await (await fetch(`${url}/plugins`)).json()) as string[];
        if (!plugins.includes('dicom-web')) throw new Error('Orthanc started without its DICOMweb plugin');
        break;
      }
    } catch (err) {
      if (err instanceof Error && err.message.includes('DICOMweb plugin')) throw err;
    }
    if (Date.now() > deadline) throw new Error(`Orthanc did not answer within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const dicomweb = `${url}/dicom-web`;
  return {
    url,
    dicomweb,
    async stow(files) {
      const boundary = `cairn-${Date.now()}`;
      const enc = new TextEncoder();
      const parts: Uint8Array[] = [];
      for (const f of files) {
        parts.push(
          enc.encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
          f,
          enc.encode('\r\n'),
        );
      }
      parts.push(enc.encode(`--${boundary}--\r\n`));
      const body = Buffer.concat(parts);
      const r = await fetch(`${dicomweb}/studies`, {
        method: 'POST',
        headers: {
          'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
          accept: 'application/dicom+json',
        },
        body,
      });
      if (!r.ok) throw new Error(`STOW-RS: HTTP ${r.status}`);
      const res = (await r.json()) as Record<string, { Value?: unknown[] }>;
      if (res['00081198']?.Value?.length) throw new Error('STOW-RS: Orthanc refused some instances');
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
