import type { PipelineProgress } from '../edge-agent/pipeline/score-folder.ts';

/**
 * Progress lines for long work. On a terminal one line is rewritten in place; otherwise (CI, a pipe, the
 * demo's child processes) a line is printed at most every `everyMs`.
 */
export function progressPrinter(prefix: string, everyMs = 1000) {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(line: string, force = false) {
      const now = Date.now();
      if (!force && now - last < (tty ? 100 : everyMs)) return;
      last = now;
      if (tty) process.stderr.write(`\r\x1b[2K${prefix}${line}`);
      else process.stderr.write(`${prefix}${line}\n`);
    },
    done(line: string) {
      if (tty) process.stderr.write(`\r\x1b[2K`);
      process.stderr.write(`${prefix}${line}\n`);
    },
  };
}

/** One PHI-free progress line: counts, rates and reasons only. */
export function progressLine(p: PipelineProgress): string {
  const total = p.filesTotal !== undefined ? `/${p.filesTotal}` : '';
  const eta = p.etaSeconds !== undefined ? `, ETA ${formatSeconds(p.etaSeconds)}` : '';
  return (
    `${p.filesSeen}${total} files scanned, ${p.framesDecoded} decoded, ${p.imagesInferred} inferred, ` +
    `${p.cached} cached, ${p.excluded} excluded (${p.imagesPerSecond.toFixed(1)} img/s${eta})` +
    (p.excluded ? `; excluded: ${formatExcluded(p.excludedByReason as Record<string, number>)}` : '')
  );
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Exclusion counts by reason (`unsupported-modality 3, no-label 1`), or `none`. */
export function formatExcluded(excluded: Record<string, number> = {}): string {
  const parts = Object.entries(excluded).map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'none';
}
