/**
 * `npm run bench:hostile:agent`: the agent's peak memory over a folder of decompression bombs. Generates good
 * synthetic CT studies and `--bombs` Deflated Explicit VR Little Endian files that each declare a 512×512
 * slice but inflate to `--inflated-gib` GiB (~1.7 MB on disk for 1.7 GiB: the bomb), then runs the
 * agent's pipeline (scoreFolder: scan, worker threads, inference) in a child process twice — on the good
 * studies alone (baseline) and on the good studies plus the bombs — and reads each child's peak RSS
 * (process.resourceUsage().maxRSS, which covers its worker threads). Prints baseline, peak, peak − baseline,
 * and whether peak ≤ baseline + 512 MiB; the last line is one JSON object with the same numbers.
 *
 * Flags: --bombs N (default 8), --inflated-gib G (default 1.7), --studies N (default 6), --workers N.
 * Not a test: RSS depends on the host.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scoreFolder } from '../edge-agent/pipeline/score-folder.ts';
import { ModelManifest } from '../schemas/model-manifest.ts';
import { writeDeflateBomb } from '../synthetic/bomb.ts';
import { writeSyntheticSite } from '../synthetic/dicom.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../synthetic/model.ts';

const { values: flags } = parseArgs({
  options: {
    child: { type: 'string' },
    workers: { type: 'string' },
    bombs: { type: 'string', default: '8' },
    'inflated-gib': { type: 'string', default: '1.7' },
    studies: { type: 'string', default: '6' },
  },
});

const MIB = 1024 * 1024;
const ALLOWED_GROWTH = 512 * MIB;

/** Child: score one folder with the demo model, then print the peak RSS and the counts as one JSON line. */
async function child(folder: string): Promise<void> {
  const r = await scoreFolder({
    dicomDir: folder,
    manifest: ModelManifest.parse(demoManifest(1)),
    model: buildNoduleDetectorOnnx(1),
    device: 'cpu',
    threads: 1,
    ...(flags.workers ? { workers: Number(flags.workers) } : {}),
  });
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ maxRssBytes, images: r.images, excluded: r.excluded })}\n`);
}

interface ChildResult {
  maxRssBytes: number;
  images: { seen: number; used: number };
  excluded: Record<string, number>;
}

function runChild(folder: string): ChildResult {
  const args = ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', folder];
  if (flags.workers) args.push('--workers', flags.workers);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 * MIB });
  if (r.status !== 0) throw new Error(`bench: the agent child exited ${r.status}: ${r.stderr.trim()}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as ChildResult;
}

async function main(): Promise<void> {
  const bombs = Math.max(1, Number(flags.bombs));
  const inflatedBytes = Math.round(Number(flags['inflated-gib']) * 1024 * MIB);
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-hostile-'));
  try {
    const site = await writeSyntheticSite(
      {
        siteId: 'bench',
        seed: 7,
        studies: Math.max(1, Number(flags.studies)),
        prevalence: 0.5,
        manufacturer: 'SIEMENS',
        scannerModel: 'X',
        institution: 'Bench',
        noiseHu: 12,
        nodule: { minHu: 25, maxHu: 60 },
      },
      join(dir, 'good'),
    );
    const hostile = join(dir, 'hostile');
    mkdirSync(hostile);
    cpSync(site.dicomDir, join(hostile, 'good'), { recursive: true });
    const t0 = performance.now();
    let onDisk = 0;
    for (let i = 0; i < bombs; i++) {
      const file = join(hostile, `bomb-${i}.dcm`);
      await writeDeflateBomb(file, {
        sopInstanceUid: `2.25.9${i}`,
        studyInstanceUid: `2.25.8${i}`,
        rows: 512,
        columns: 512,
        inflatedBytes,
      });
      onDisk += statSync(file).size;
    }
    const gib = (n: number) => (n / 1024 / MIB).toFixed(2);
    console.log(
      `bombs: ${bombs} × ${gib(inflatedBytes)} GiB inflated, ${(onDisk / bombs / MIB).toFixed(2)} MB each on disk (written in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );

    const baseline = runChild(site.dicomDir);
    console.log(
      `baseline (good only): peak RSS ${(baseline.maxRssBytes / MIB).toFixed(0)} MiB, ${baseline.images.used}/${baseline.images.seen} images used`,
    );
    const peak = runChild(hostile);
    console.log(
      `with bombs: peak RSS ${(peak.maxRssBytes / MIB).toFixed(0)} MiB, ${peak.images.used}/${peak.images.seen} images used; excluded ${JSON.stringify(peak.excluded)}`,
    );
    const growth = peak.maxRssBytes - baseline.maxRssBytes;
    const ok = peak.maxRssBytes <= baseline.maxRssBytes + ALLOWED_GROWTH;
    console.log(
      `peak − baseline: ${(growth / MIB).toFixed(0)} MiB; ≤ baseline + 512 MiB: ${ok ? 'yes' : 'NO'}`,
    );
    const result = {
      bombs,
      inflatedBytesEach: inflatedBytes,
      baselineRssMiB: Math.round(baseline.maxRssBytes / MIB),
      peakRssMiB: Math.round(peak.maxRssBytes / MIB),
      growthMiB: Math.round(growth / MIB),
      withinBudget: ok,
      excluded: peak.excluded,
    };
    console.log(JSON.stringify(result));
    if (!ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (flags.child) await child(flags.child);
else await main();
