import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

interface ExportFlags extends ApiFlags {
  model: string;
  region?: string;
  campaign?: string;
  format: string;
  out: string;
}

const FORMATS = ['html', 'pdf', 'json'];

/** `cairn report export`: the regulator-ready evaluation report of one model version, as a file. */
export function registerReportExport(report: Command): void {
  apiCommand(
    report,
    'export',
    'the evaluation report of one model version (html, pdf or json), for regulators',
  )
    .requiredOption('--model <id>', 'model version id')
    .option('--region <id>', 'restrict the report to one region')
    .option('--campaign <id>', 'the campaign (default: the newest one with this version)')
    .option('--format <format>', 'html, pdf or json', 'html')
    .requiredOption('--out <file>', 'where to write the document')
    .action(async (o: ExportFlags, cmd: Command) => {
      o.output = outputOf(cmd, o.output);
      if (!FORMATS.includes(o.format)) throw new CliError(`--format must be one of ${FORMATS.join(', ')}`);
      const query = new URLSearchParams({ format: o.format === 'json' ? 'json' : 'html' });
      if (o.region) query.set('region', o.region);
      if (o.campaign) query.set('campaign', o.campaign);
      const body = await api(o).bytes(`/v1/models/${encodeURIComponent(o.model)}/evaluation-report?${query}`);
      let bytes: Uint8Array = body;
      if (o.format === 'pdf') {
        const { htmlToPdf } = await import('./report-pdf.ts');
        bytes = await htmlToPdf(new TextDecoder().decode(body));
      }
      writeFileSync(o.out, bytes);
      const result = {
        out: o.out,
        format: o.format,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
      print(
        o.output,
        result,
        () => `wrote ${o.out} (${o.format}, ${bytes.length} bytes, sha256 ${result.sha256})`,
      );
    });
}

/**
 * `cairn report` itself takes `--output` (for its CSV report), and commander lets a parent's option be given
 * after the subcommand's name: `report export … --output json` then lands on the parent.
 */
function outputOf(cmd: Command, local: string): string {
  const parent = cmd.parent;
  if (cmd.getOptionValueSource('output') !== 'default' || !parent) return local;
  if (parent.getOptionValueSource('output') === 'cli') return parent.opts().output as string;
  return parent.opts().json ? 'json' : local;
}
