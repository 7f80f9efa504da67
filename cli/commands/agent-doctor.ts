/** `cairn agent doctor`: which execution providers work here, and a throughput probe. */
import type { Command } from 'commander';
import { addOutputOption, print } from '../output.ts';
import { parseDevice } from './agent-settings.ts';

export function registerAgentDoctor(agent: Command): void {
  addOutputOption(
    agent
      .command('doctor')
      .description('which execution providers work here, the chosen one, threads, and a throughput probe')
      .option('--device <device>', 'auto, cpu, webgpu or cuda', 'auto')
      .option('--threads <n>', 'inference threads')
      .option('--seconds <s>', 'length of the throughput probe (0: none)', '10'),
  ).action(async (opts: { device: string; threads?: string; seconds: string; output: string }) => {
    const device = parseDevice(opts.device);
    const { doctor } = await import('../../edge-agent/pipeline/doctor.ts');
    const r = await doctor({
      device,
      seconds: Number(opts.seconds),
      ...(opts.threads ? { threads: Number(opts.threads) } : {}),
    });
    print(opts.output, r, () =>
      [
        ...r.providers.map((p) => `${p.provider.padEnd(7)} ${p.works ? 'works' : `no: ${p.reason}`}`),
        `chosen: ${r.chosen ?? `none (device ${r.device})`}; ${r.threads} inference threads, ${r.workers} decode workers, ${r.cores} cores`,
        r.probe
          ? `probe: ${r.probe.model} batch ${r.probe.batch}: ${r.probe.imagesPerSecond.toFixed(1)} img/s (${r.probe.images} images in ${r.probe.seconds.toFixed(1)} s, inference only)`
          : 'probe: not run',
      ].join('\n'),
    );
    if (!r.chosen) process.exitCode = 1;
  });
}
