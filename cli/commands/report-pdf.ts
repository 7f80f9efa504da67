import { existsSync } from 'node:fs';
import { CliError } from '../errors.ts';

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

/**
 * Prints the report's HTML to PDF with the system's Chromium (playwright-core drives it; nothing is
 * downloaded). Chromium stamps each PDF with the time it was made; those stamps are replaced by the report's
 * own "data as of" time (same length, so the file's cross-reference offsets stay right), which makes the PDF
 * as reproducible as the HTML it comes from.
 */
export async function htmlToPdf(html: string): Promise<Uint8Array> {
  if (!existsSync(CHROMIUM))
    throw new CliError(
      `PDF output needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CAIRN_CHROMIUM)`,
    );
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' },
    });
    return pinPdfDates(new Uint8Array(pdf), asOfOf(html));
  } finally {
    await browser.close();
  }
}

/** The report's "data as of" time, from the JSON the HTML embeds. */
function asOfOf(html: string): Date {
  const m = /<script type="application\/json" id="cairn-evaluation-report">(.*?)<\/script>/s.exec(html);
  const asOf = m ? (JSON.parse(m[1] as string) as { asOf?: string }).asOf : undefined;
  return asOf ? new Date(asOf) : new Date(0);
}

/** Replaces every PDF date `(D:YYYYMMDDHHmmSS…)` with `at`, keeping each string's length. */
export function pinPdfDates(pdf: Uint8Array, at: Date): Uint8Array {
  const text = Buffer.from(pdf).toString('latin1');
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const pinned = text.replace(/\(D:(\d{14})([^)]*)\)/g, (_all, _date: string, rest: string) => {
    const zone = "+00'00'".padEnd(rest.length, ' ').slice(0, rest.length);
    return `(D:${stamp}${zone})`;
  });
  return new Uint8Array(Buffer.from(pinned, 'latin1'));
}
