/**
 * `npm run bench:cli-start`: how long `cairn --help` takes to start, against a bare `node -e ''` start run
 * alternately with it (so a busy machine slows both alike). Prints the median of each and the median of the
 * per-pair ratios. Not a test: timings depend on the machine. CAIRN_BENCH_RUNS sets the number of pairs.
 */
import { spawnSync } from 'node:child_process';
import { CAIRN_BIN } from '../cli/demo/cloud-process.ts';

const RUNS = Number(process.env.CAIRN_BENCH_RUNS ?? 15);

function timeMs(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

timeMs([CAIRN_BIN, '--help']); // warm tsx's transform cache and the OS file cache
const cairn: number[] = [];
const peer: number[] = [];
for (let i = 0; i < RUNS; i++) {
  cairn.push(timeMs([CAIRN_BIN, '--help']));
  peer.push(timeMs(['-e', '']));
}
const ratios = cairn.map((c, i) => c / peer[i]!);
console.log(`cairn --help   median ${median(cairn).toFixed(0)} ms (${RUNS} runs)`);
console.log(`node -e ''     median ${median(peer).toFixed(0)} ms`);
console.log(`ratio          median ${median(ratios).toFixed(1)}× a bare node start`);
