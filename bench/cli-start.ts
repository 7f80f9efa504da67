/**
 * `npm run bench:cli-start`: how long `cairn --help` takes to start, against a bare `node -e ''` start run
 * alternately with it (so a busy machine slows both alike). Prints the median wall time of each, the median of
 * the per-pair ratios and, on Linux, the median CPU time (user + system) each child used, which a machine
 * shared with other work inflates far less than wall time. Not a test: timings depend on the machine.
 * CAIRN_BENCH_RUNS sets the number of pairs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { CAIRN_BIN } from '../cli/demo/cloud-process.ts';

const RUNS = Number(process.env.CAIRN_BENCH_RUNS ?? 15);
// /proc/self/stat counts the CPU time of waited-for children in clock ticks (100 per second on Linux).
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by this process's finished children, or null where /proc is not there. */
function childrenCpuSeconds(): number | null {
  if (!existsSync('/proc/self/stat')) return null;
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces) start at the state, field 3; cutime and cstime are 16, 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

function run(args: string[]): { ms: number; cpuMs: number | null } {
  const cpu0 = childrenCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const cpu1 = childrenCpuSeconds();
  return { ms, cpuMs: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) * 1000 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

run([CAIRN_BIN, '--help']); // fills the TypeScript cache and the OS file cache
const cairn: ReturnType<typeof run>[] = [];
const peer: ReturnType<typeof run>[] = [];
for (let i = 0; i < RUNS; i++) {
  cairn.push(run([CAIRN_BIN, '--help']));
  peer.push(run(['-e', '']));
}
const cpu = (xs: ReturnType<typeof run>[]) =>
  xs[0]?.cpuMs === null ? '' : `, CPU ${median(xs.map((x) => x.cpuMs ?? 0)).toFixed(0)} ms`;
console.log(
  `cairn --help   median ${median(cairn.map((x) => x.ms)).toFixed(0)} ms${cpu(cairn)} (${RUNS} runs)`,
);
console.log(`node -e ''     median ${median(peer.map((x) => x.ms)).toFixed(0)} ms${cpu(peer)}`);
console.log(
  `ratio          median ${median(cairn.map((c, i) => c.ms / peer[i]!.ms)).toFixed(1)}× a bare node start`,
);
