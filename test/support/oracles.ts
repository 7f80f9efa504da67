/**
 * Reference implementations as subprocesses, for tests that check Cairn's statistics against R (pROC,
 * metafor) and Debian's Python (scipy, statsmodels, sklearn) on generated data.
 *
 * Data travel exactly: to R as little-endian float64 files read with readBin (R's decimal parser is not
 * guaranteed to round correctly), to Python as JSON (shortest round-trip decimals, parsed exactly by Python).
 * Results come back as text; scripts print numbers with %.17g so they round-trip too.
 *
 * A missing oracle is an error, never a skip: a test that silently passes without its reference proves nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type OracleData = Record<string, ArrayLike<number>>;

const R_PACKAGES = 'apt-get install r-base-core r-cran-proc r-cran-metafor';
const PY_PACKAGES = 'apt-get install python3 python3-sklearn python3-statsmodels python3-scipy';
/** Debian's interpreter: the python3 on PATH may be a separate build that cannot import Debian's modules. */
const DEBIAN_PYTHON = '/usr/bin/python3';

function findRscript(): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'Rscript'))) return join(dir, 'Rscript');
  }
  if (existsSync('/usr/bin/Rscript')) return '/usr/bin/Rscript';
  throw new Error(`Rscript not found: the statistical oracles need R with pROC and metafor (${R_PACKAGES})`);
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-oracle-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`oracle data name ${name} is not an identifier`);
}

function run(cmd: string, args: string[], hint: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: 'pipe' });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error(`${cmd} not found (${hint})`);
    throw new Error(`${cmd} failed: ${e.stderr || e.message}\n(needs: ${hint})`);
  }
}

/**
 * Runs an R script with Rscript and returns its stdout. Each entry of `data` becomes an R numeric vector of
 * that name, bit-identical to the TypeScript numbers. Throws (naming the apt packages) when R is missing.
 */
export function runR(script: string, data: OracleData = {}): string {
  const rscript = findRscript();
  return withTempDir((dir) => {
    const prelude: string[] = ['options(warn = -1)'];
    for (const [name, values] of Object.entries(data)) {
      checkName(name);
      const file = join(dir, `${name}.f64`);
      const buf = Buffer.alloc(values.length * 8);
      for (let i = 0; i < values.length; i++) buf.writeDoubleLE(values[i] as number, i * 8);
      writeFileSync(file, buf);
      prelude.push(
        `${name} <- readBin(${JSON.stringify(file)}, "double", n = ${values.length}, endian = "little")`,
      );
    }
    const path = join(dir, 'script.R');
    writeFileSync(path, `${prelude.join('\n')}\n${script}\n`);
    return run(rscript, ['--vanilla', path], R_PACKAGES);
  });
}

/**
 * Runs a Python script with Debian's /usr/bin/python3 and returns its stdout. Each entry of `data` becomes a
 * Python list of floats of that name. Throws (naming the apt packages) when Python is missing.
 */
export function runPython(script: string, data: OracleData = {}): string {
  if (!existsSync(DEBIAN_PYTHON)) throw new Error(`${DEBIAN_PYTHON} not found (${PY_PACKAGES})`);
  return withTempDir((dir) => {
    const json = join(dir, 'data.json');
    const obj: Record<string, number[]> = {};
    for (const [name, values] of Object.entries(data)) {
      checkName(name);
      obj[name] = Array.from(values);
    }
    writeFileSync(json, JSON.stringify(obj));
    const names = Object.keys(obj);
    const prelude = [
      'import json',
      `_data = json.load(open(${JSON.stringify(json)}))`,
      ...names.map((n) => `${n} = _data[${JSON.stringify(n)}]`),
    ];
    const path = join(dir, 'script.py');
    writeFileSync(path, `${prelude.join('\n')}\n${script}\n`);
    return run(DEBIAN_PYTHON, [path], PY_PACKAGES);
  });
}

/** Parses whitespace-separated numbers printed by an oracle; NA/NaN/nan become NaN, Inf/-Inf infinities. */
export function parseNumbers(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .map((t) => {
      if (t === 'NA' || t === 'NaN' || t === 'nan') return Number.NaN;
      if (t === 'Inf' || t === 'inf') return Number.POSITIVE_INFINITY;
      if (t === '-Inf' || t === '-inf') return Number.NEGATIVE_INFINITY;
      const v = Number(t);
      if (Number.isNaN(v)) throw new Error(`oracle printed a non-number: ${t}`);
      return v;
    });
}

/** Parses oracle output of one line per case into rows of numbers. */
export function parseRows(text: string): number[][] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map(parseNumbers);
}

/** A small seeded PRNG (mulberry32) so generated test data are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate from a uniform source (Box–Muller). */
export function normalDeviate(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Asserts |actual − expected| <= tol·max(1, |expected|), treating NaN = NaN and null = NaN as equal. */
export function expectClose(actual: number | null, expected: number, tol: number, what: string): void {
  const a = actual === null ? Number.NaN : actual;
  if (Number.isNaN(expected) && Number.isNaN(a)) return;
  if (a === expected) return;
  const err = Math.abs(a - expected);
  if (!(err <= tol * Math.max(1, Math.abs(expected)))) {
    throw new Error(`${what}: got ${a}, reference ${expected} (difference ${err}, tolerance ${tol})`);
  }
}
