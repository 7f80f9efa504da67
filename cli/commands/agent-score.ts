/** `cairn agent score`: a trial run of a model on local images, without a cloud; prints a PHI-free summary. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';
import { formatExcluded, progressLine, progressPrinter } from '../progress.ts';
import {
  DEFAULT_STATE,
  parseDevice,
  type SettingsFlags,
  settingsFromFlags,
  withSettingsFlags,
} from './agent-settings.ts';

type ScoreFlags = SettingsFlags & { manifest: string; onnx: string; state: string; output: string };

export function registerAgentScore(agent: Command): void {
  withSettingsFlags(
    addOutputOption(
      agent
        .command('score')
        .description('score local images with a model, without a cloud (a trial run; PHI-free summary)')
        .requiredOption('--manifest <file>', 'the model manifest (cairn.model/v1 JSON)')
        .requiredOption('--onnx <file>', 'the ONNX model')
        .option('--state <dir>', 'agent state folder (holds the prediction cache)', DEFAULT_STATE),
    ),
  ).action(score);
}

async function score(opts: ScoreFlags): Promise<void> {
  const { scoreFolder, predictionCacheKey } = await import('../../edge-agent/pipeline/score-folder.ts');
  const { predictionCache } = await import('../../edge-agent/state/predictions.ts');
  const { openAgentState } = await import('../../edge-agent/state/store.ts');
  const { JobFailure } = await import('../../edge-agent/pipeline/job-failure.ts');
  const flags = settingsFromFlags(opts);
  if (Boolean(flags.dicom) === Boolean(flags.dicomweb))
    throw new CliError('score needs exactly one of --dicom <dir> or --dicomweb-url <url>');
  const manifest = await readManifest(opts.manifest);
  const model = new Uint8Array(readFileSync(opts.onnx));
  const source = await imageSource(flags, manifest);
  const state = await openAgentState(resolve(opts.state));
  const printer = progressPrinter('score: ');
  try {
    const r = await scoreFolder({
      source,
      manifest,
      model,
      device: parseDevice(opts.device ?? 'auto'),
      ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
      ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      cache: predictionCache(state.db, predictionCacheKey(model, manifest)),
      onProgress: (p) => printer.update(progressLine(p)),
    }).catch((err: unknown) => {
      // A folder that cannot be read is the user's input: one line (the message names no path).
      // The failure's message starts with its code.
      if (err instanceof JobFailure) throw new CliError(err.message);
      throw err;
    });
    const summary = {
      provider: r.provider,
      batchSize: r.batchSize,
      studies: r.studyScores.size,
      images: r.images,
      inferred: r.inferred,
      cached: r.cached,
      excluded: r.excluded,
      seconds: r.stages.wall,
    };
    printer.done(
      `${summary.studies} studies, ${r.images.used}/${r.images.seen} images used (${r.inferred} inferred, ${r.cached} cached) on ${r.provider} in ${r.stages.wall.toFixed(1)} s`,
    );
    print(opts.output, summary, () => `excluded: ${formatExcluded(r.excluded as Record<string, number>)}`);
  } finally {
    state.close();
  }
}

async function readManifest(path: string): Promise<ModelManifest> {
  const { ModelManifest } = await import('../../schemas/model-manifest.ts');
  try {
    return ModelManifest.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    throw new CliError(`--manifest: ${path} is not a valid cairn.model/v1 manifest`);
  }
}

/** The folder, or the PACS over DICOMweb (its Authorization header from CAIRN_DICOMWEB_AUTHORIZATION). */
async function imageSource(flags: ReturnType<typeof settingsFromFlags>, manifest: ModelManifest) {
  if (flags.dicom) {
    const { folderSource } = await import('../../edge-agent/sources/folder.ts');
    return folderSource(resolve(flags.dicom));
  }
  const { dicomWebSource } = await import('../../edge-agent/sources/dicomweb.ts');
  const auth = process.env.CAIRN_DICOMWEB_AUTHORIZATION;
  return dicomWebSource({
    ...flags.dicomweb!,
    modalities: manifest.modality,
    ...(auth ? { headers: { authorization: auth } } : {}),
  });
}
