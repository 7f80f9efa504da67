import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run a whole Cairn network on this machine: synthetic hospitals, or your own data with --scenario',
    )
    .option('--scenario <file>', 'a scenario JSON with your models, DICOM folders and labels')
    .option('--out <dir>', 'where everything the run stored is kept')
    .option('--keep', 'leave the cloud running afterwards')
    .option('--concurrency <n>', 'agents running at once', '2')
    .action(async (opts: { scenario?: string; out?: string; keep?: boolean; concurrency: string }) => {
      const say = (l: string) => process.stderr.write(`${l}\n`);
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new CliError(`--concurrency: ${opts.concurrency} is not a positive whole number`);
      const { generateDemoNetwork } = await import('../demo/generate-network.ts');
      const { runScenario } = await import('../demo/run-scenario.ts');
      const { renderComparison } = await import('../render-comparison.ts');
      let scenarioFile = opts.scenario;
      let out = opts.out;
      if (!scenarioFile) {
        // The built-in demo owns its folder and starts clean each time.
        const root = resolve(out ?? '.cairn/demo');
        clearDemoRoot(root);
        say('generating synthetic hospitals (chest CT with plausible PHI in every patient tag)…');
        scenarioFile = await generateDemoNetwork(join(root, 'input'), say);
        out = join(root, 'run');
      } else if (!out) throw new CliError('--scenario needs --out <dir>');
      const started = performance.now();
      const run = await runScenario({
        scenarioFile,
        outDir: out as string,
        keep: opts.keep,
        concurrency,
        say,
      });
      const { governanceLines } = await import('../demo/governance-ending.ts');
      process.stdout.write(
        `${renderComparison(run.comparison)}\n\n${governanceLines(run.governance).join('\n')}\n`,
      );
      say(
        `\ncomparison written to ${join(resolve(out as string), 'comparison.json')} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
      if (opts.keep)
        say(
          `cloud still running at ${run.cloud.url} (pid ${run.cloud.pid}); admin token in ${run.cloud.adminTokenPath}; stop it with: kill ${run.cloud.pid}`,
        );
    });
}

/**
 * Empties the built-in demo's folder before a run. Only a folder that is missing, empty or a previous demo's
 * (nothing but `input/` and `run/`) is removed: `--out` names a folder of the user's choosing, which must never
 * be wiped because of a typo.
 */
export function clearDemoRoot(root: string): void {
  if (!existsSync(root)) return;
  const entries = readdirSync(root);
  if (entries.some((e) => e !== 'input' && e !== 'run'))
    throw new CliError(`${root} holds other files; give the demo an empty or new --out folder`);
  rmSync(root, { recursive: true, force: true });
}
