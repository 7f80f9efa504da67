/** `cairn agent enroll`: the site's key pair, its settings and its enrollment with the cloud. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { DEFAULT_STATE, type SettingsFlags, settingsFromFlags, withSettingsFlags } from './agent-settings.ts';

type EnrollFlags = SettingsFlags & { cloud: string; token: string; state: string; releasePolicy?: string };

export function registerAgentEnroll(agent: Command): void {
  withSettingsFlags(
    agent
      .command('enroll')
      .description('make this site’s key pair and enroll with the cloud using a one-time token')
      .requiredOption('--cloud <url>', 'the cloud’s base URL')
      .requiredOption('--token <token>', 'the one-time enrollment token a coordinator issued for this site')
      .option(
        '--release-policy <file>',
        'a written policy that pre-approves some reports (default: review all)',
      )
      .option('--state <dir>', 'agent state folder', DEFAULT_STATE),
  ).action(enroll);
}

async function enroll(opts: EnrollFlags): Promise<void> {
  const overrides = settingsFromFlags(opts);
  if ((!overrides.dicom && !overrides.dicomweb) || !overrides.labels)
    throw new CliError('enroll needs --dicom <dir> (or --dicomweb-url <url>) and --labels <file>');
  const { AgentSettings } = await import('../../edge-agent/config.ts');
  const { enrollAgent } = await import('../../edge-agent/enroll.ts');
  const { describeReleasePolicy, loadReleasePolicyFile, writeReleasePolicy } = await import(
    '../../edge-agent/review/policy.ts'
  );
  const parsed = AgentSettings.safeParse(
    Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  );
  if (!parsed.success)
    throw new CliError(
      `invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; ')}`,
    );
  const settings = parsed.data;
  if (settings.dicom) settings.dicom = resolve(settings.dicom);
  settings.labels = resolve(settings.labels);
  // Checked before enrolling: a bad policy must not leave a half-configured agent behind.
  const policy = opts.releasePolicy ? loadReleasePolicyFile(opts.releasePolicy) : null;
  const res = await enrollAgent({
    stateDir: resolve(opts.state),
    cloudUrl: opts.cloud,
    token: opts.token,
    settings,
  });
  if (policy) writeReleasePolicy(resolve(opts.state), policy);
  process.stdout.write(`enrolled as site ${res.siteId} (region ${res.regionId}), key ${res.keyId}\n`);
  for (const w of res.warnings) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(
    policy
      ? `release policy: ${describeReleasePolicy(policy)}\n`
      : 'release policy: none — every report waits for `cairn agent review`\n',
  );
  process.stdout.write(
    settings.releaseColumns.length
      ? `labels.csv columns campaigns may report subgroups by: ${settings.releaseColumns.join(', ')} (refused if their values look identifying)\n`
      : 'labels.csv columns campaigns may report subgroups by: none (--release-columns to allow some)\n',
  );
}
