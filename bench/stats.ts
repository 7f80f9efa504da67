/**
 * `npm run bench:stats`: AUC + DeLong 95 % CI on 10⁴, 10⁶ and 10⁷ cases with Cairn's stats/roc.ts and with
 * R pROC's roc() + ci.auc(method = "delong") on the same data in the same run (data go to R as float64 files
 * read with readBin). Prints a table, the pROC/Cairn ratio, and Cairn's time per n·log₂n to show the
 * scaling. Not a test: timings depend on the machine. Scores are binormal (negatives N(0,1), positives
 * N(1,1), prevalence 30 %), rounded to 1e-4 so there are ties. R's time excludes reading the files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delongAuc } from '../stats/roc.ts';
import { seededRandom } from '../test/support/oracles.ts';

const SIZES = (process.env.CAIRN_BENCH_SIZES ?? '10000,1000000,10000000').split(',').map(Number);
const R_TIMEOUT_MS = Number(process.env.CAIRN_BENCH_R_TIMEOUT_S ?? 600) * 1000;

function data(n: number): { scores: Float64Array; labels: Float64Array } {
  const rand = seededRandom(n);
  const scores = new Float64Array(n);
  const labels = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = rand() < 0.3 ? 1 : 0;
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    labels[i] = y;
    scores[i] = Math.round((y + z) * 1e4) / 1e4;
  }
  return { scores, labels };
}

function timeCairn(
  scores: Float64Array,
  labels: Float64Array,
): { ms: number; auc: number; lo: number; hi: number } {
  const reps = scores.length <= 1e5 ? 21 : scores.length <= 1e6 ? 5 : 3;
  const times: number[] = [];
  let r = delongAuc(scores, labels); // warm-up
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    r = delongAuc(scores, labels);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  if (r.estimate === null || r.ciLow === null || r.ciHigh === null) throw new Error('undefined AUC');
  return { ms: times[Math.floor(reps / 2)] as number, auc: r.estimate, lo: r.ciLow, hi: r.ciHigh };
}

function timePROC(
  scores: Float64Array,
  labels: Float64Array,
): { ms: number; auc: number; lo: number; hi: number } | string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  try {
    writeFileSync(join(dir, 's.f64'), Buffer.from(scores.buffer));
    writeFileSync(join(dir, 'y.f64'), Buffer.from(labels.buffer));
    const n = scores.length;
    const script = `
suppressMessages(library(pROC))
s <- readBin("${join(dir, 's.f64')}", "double", n = ${n}, endian = "little")
y <- readBin("${join(dir, 'y.f64')}", "double", n = ${n}, endian = "little")
reps <- ${n <= 1e5 ? 5 : 1}
el <- numeric(reps)
for (i in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  r <- roc(response = y, predictor = s, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- as.numeric(ci.auc(r, method = "delong"))
  el[i] <- proc.time()[["elapsed"]] - t0
}
cat(sprintf("%.17g", c(median(el) * 1000, ci[2], ci[1], ci[3])), "\\n")
`;
    writeFileSync(join(dir, 'b.R'), script);
    const out = execFileSync('Rscript', ['--vanilla', join(dir, 'b.R')], {
      encoding: 'utf8',
      timeout: R_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [ms, auc, lo, hi] = out.trim().split(/\s+/).map(Number) as [number, number, number, number];
    return { ms, auc, lo, hi };
  } catch (err) {
    const e = err as { code?: string; signal?: string; message: string };
    if (e.code === 'ENOENT') return 'Rscript not found (apt-get install r-base-core r-cran-proc)';
    if (e.signal === 'SIGTERM') return `timed out after ${R_TIMEOUT_MS / 1000} s`;
    return `failed: ${e.message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: string[][] = [
  ['cases', 'Cairn ms', 'pROC ms', 'pROC/Cairn', 'Cairn ns per n·log2n', 'AUC', '|ΔAUC|', '|ΔCI|'],
];
for (const n of SIZES) {
  const { scores, labels } = data(n);
  const c = timeCairn(scores, labels);
  const p = timePROC(scores, labels);
  const perNLogN = ((c.ms * 1e6) / (n * Math.log2(n))).toFixed(2);
  if (typeof p === 'string') {
    rows.push([n.toExponential(0), c.ms.toFixed(1), p, '—', perNLogN, c.auc.toFixed(6), '—', '—']);
  } else {
    rows.push([
      n.toExponential(0),
      c.ms.toFixed(1),
      p.ms.toFixed(1),
      (p.ms / c.ms).toFixed(1),
      perNLogN,
      c.auc.toFixed(6),
      Math.abs(c.auc - p.auc).toExponential(1),
      Math.max(Math.abs(c.lo - p.lo), Math.abs(c.hi - p.hi)).toExponential(1),
    ]);
  }
  process.stderr.write(`done ${n}\n`);
}
const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i] as number)).join('  '));
console.log(
  `\nnode ${process.version}; AUC + DeLong SE + 95 % CI; median of repeated runs (1 run of pROC from 1e6 up).`,
);
