import { inspect } from 'node:util';
import type { Haystacks } from './haystacks.ts';

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/**
 * Runs fn while recording whatever this process prints (console and stdout/stderr, passed through): the
 * in-process cloud and agents must not print PHI either. Added to haystacks as a local haystack.
 */
export async function capturingOutput<T>(
  haystacks: Haystacks,
  label: string,
  fn: () => Promise<T>,
): Promise<T> {
  const chunks: string[] = [];
  const saved = METHODS.map((m) => console[m]);
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((s) => s.write);
  METHODS.forEach((m, i) => {
    console[m] = (...args: unknown[]) => {
      chunks.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 8 }))).join(' '));
      saved[i]!.apply(console, args);
    };
  });
  streams.forEach((s, i) => {
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (writes[i] as (...a: unknown[]) => boolean).call(s, chunk, ...rest);
    }) as typeof s.write;
  });
  try {
    return await fn();
  } finally {
    METHODS.forEach((m, i) => {
      console[m] = saved[i]!;
    });
    streams.forEach((s, i) => {
      s.write = writes[i]!;
    });
    haystacks.add(`what ${label} printed`, chunks.join('\n'), true);
  }
}
