/** The agent settings every `cairn agent` command that runs a pipeline takes as flags, and their parsing. */
import type { Command } from 'commander';
import type { AgentSettings } from '../../edge-agent/config.ts';
import { CliError } from '../errors.ts';

export const DEFAULT_STATE = process.env.CAIRN_AGENT_STATE ?? '.cairn/agent';

export interface SettingsFlags {
  dicom?: string;
  dicomwebUrl?: string;
  studyDateFrom?: string;
  studyDateTo?: string;
  workers?: string;
  labels?: string;
  minCell?: string;
  device?: string;
  threads?: string;
  batchSize?: string;
  dpEpsilon?: string;
  dpBudget?: string;
  requireSignedModels?: boolean;
  releaseColumns?: string;
}

export function settingsFromFlags(f: SettingsFlags): Partial<AgentSettings> {
  const int = (name: string, v?: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new CliError(`--${name}: ${v} is not a whole number`);
    return n;
  };
  const positive = (name: string, v?: string) => {
    const n = Number(v);
    if (!(n > 0)) throw new CliError(`--${name}: ${v} is not a positive number`);
    return n;
  };
  if (Boolean(f.dpEpsilon) !== Boolean(f.dpBudget))
    throw new CliError('differential privacy needs both --dp-epsilon and --dp-budget');
  return {
    ...(f.dpEpsilon
      ? {
          dp: {
            epsilonPerReport: positive('dp-epsilon', f.dpEpsilon),
            budgetPerCampaign: positive('dp-budget', f.dpBudget),
          },
        }
      : {}),
    ...(f.requireSignedModels ? { requireSignedModels: true } : {}),
    ...(f.releaseColumns !== undefined ? { releaseColumns: columnList(f.releaseColumns) } : {}),
    dicom: f.dicom,
    dicomweb: f.dicomwebUrl
      ? {
          url: f.dicomwebUrl,
          ...(f.studyDateFrom ? { studyDateFrom: f.studyDateFrom } : {}),
          ...(f.studyDateTo ? { studyDateTo: f.studyDateTo } : {}),
        }
      : undefined,
    workers: int('workers', f.workers),
    labels: f.labels,
    minCell: int('min-cell', f.minCell),
    device: f.device as AgentSettings['device'] | undefined,
    threads: int('threads', f.threads),
    batchSize: int('batch-size', f.batchSize),
  };
}

/** `scannerSite, insurance` → ['scannerSite', 'insurance']; names are validated with the settings. */
function columnList(v: string): string[] {
  return v
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

export const withSettingsFlags = (cmd: Command) =>
  cmd
    .option('--dicom <dir>', 'folder of DICOM files (read recursively)')
    .option('--dicomweb-url <url>', 'a PACS over DICOMweb instead of a folder (QIDO-RS + WADO-RS)')
    .option('--study-date-from <YYYYMMDD>', 'DICOMweb: first study date')
    .option('--study-date-to <YYYYMMDD>', 'DICOMweb: last study date')
    .option('--workers <n>', 'decode worker threads')
    .option('--labels <file>', 'labels.csv with StudyInstanceUID,label')
    .option('--min-cell <k>', 'minimum cell size for released counts')
    .option('--device <device>', 'auto, cpu, webgpu or cuda')
    .option('--threads <n>', 'inference threads')
    .option('--batch-size <n>', 'images per inference batch')
    .option('--dp-epsilon <e>', 'differential privacy: ε spent per report (with --dp-budget)')
    .option('--dp-budget <e>', 'differential privacy: the most ε spent on one campaign')
    .option('--require-signed-models', 'run only models with a valid vendor signature')
    .option(
      '--release-columns <names>',
      'labels.csv columns campaigns may report subgroups by, comma-separated (default: none)',
    );

export function parseDevice(v: string): AgentSettings['device'] {
  if (v === 'auto' || v === 'cpu' || v === 'webgpu' || v === 'cuda') return v;
  throw new CliError(`--device: ${v} is not one of auto, cpu, webgpu, cuda`);
}
