import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildResNet18Onnx } from '../../synthetic/resnet.ts';
import { createInferenceSession, type Device, type Provider, providerPrecheck } from './infer.ts';
import { defaultBatchSize, defaultWorkers } from './scoring-session.ts';

/**
 * `cairn agent doctor`: which execution providers work on this host and why not, which one a run would use,
 * the threads, and a throughput probe — ResNet-18 at 224×224 (random weights, built here) on the chosen
 * provider at the batch size a run would use, for `seconds` seconds. The probe measures inference only;
 * `npm run bench` measures the whole pipeline from DICOM.
 */

export interface ProviderCheck {
  provider: Provider;
  works: boolean;
  reason?: string;
}

export interface DoctorReport {
  providers: ProviderCheck[];
  device: Device;
  chosen?: Provider;
  threads: number;
  workers: number;
  cores: number;
  probe?: { model: string; batch: number; seconds: number; images: number; imagesPerSecond: number };
}

const ORDER: Provider[] = ['cuda', 'webgpu', 'cpu'];

export async function doctor(
  opts: { device?: Device; threads?: number; workers?: number; seconds?: number } = {},
): Promise<DoctorReport> {
  const device = opts.device ?? 'auto';
  const threads = opts.threads ?? availableParallelism();
  const small = buildResNet18Onnx({ inputSize: 32 });
  const providers: ProviderCheck[] = [];
  for (const provider of ORDER) {
    const missing = providerPrecheck(provider);
    if (missing) {
      providers.push({ provider, works: false, reason: missing });
      continue;
    }
    try {
      const { session } = await createInferenceSession(small, { device: provider, threads });
      try {
        const x = new ort.Tensor('float32', new Float32Array(3 * 32 * 32), [1, 3, 32, 32]);
        await session.run({ image: x });
      } finally {
        await session.release();
      }
      providers.push({ provider, works: true });
    } catch (err) {
      providers.push({ provider, works: false, reason: firstLine(err) });
    }
  }
  const candidates = device === 'auto' ? ORDER : [device];
  const chosen = candidates.find((p) => providers.find((c) => c.provider === p)?.works);
  const report: DoctorReport = {
    providers,
    device,
    threads,
    workers: opts.workers ?? defaultWorkers(),
    cores: availableParallelism(),
  };
  if (!chosen) return report;
  report.chosen = chosen;

  const seconds = opts.seconds ?? 10;
  if (seconds > 0) {
    const { session } = await createInferenceSession(buildResNet18Onnx(), { device: chosen, threads });
    try {
      const batch = defaultBatchSize(chosen);
      const data = new Float32Array(batch * 3 * 224 * 224);
      for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
      const x = new ort.Tensor('float32', data, [batch, 3, 224, 224]);
      await session.run({ image: x }); // warm-up (graph optimisation, kernel selection) is not counted
      let images = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        await session.run({ image: x });
        images += batch;
      }
      const elapsed = (performance.now() - t0) / 1000;
      report.probe = {
        model: 'resnet18-224',
        batch,
        seconds: elapsed,
        images,
        imagesPerSecond: images / elapsed,
      };
    } finally {
      await session.release();
    }
  }
  return report;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').slice(0, 300);
}
