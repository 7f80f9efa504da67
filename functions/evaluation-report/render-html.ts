import type { EvaluationReport } from '../../schemas/evaluation-report.ts';
import { esc } from './html.ts';
import {
  criteriaSection,
  designSection,
  deviceSection,
  sitesSection,
  verdictSection,
} from './sections-evidence.ts';
import { checklistSection, governanceSection, inputsSection, privacySection } from './sections-governance.ts';
import {
  calibrationSection,
  comparisonSection,
  resultsSection,
  subgroupsSection,
} from './sections-results.ts';

const STYLE = `
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #111; margin: 2rem auto; max-width: 60rem; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; border-bottom: 1px solid #999; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.75rem 0; width: 100%; font-size: 0.85rem; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }
th { background: #e8eef4; }
code { font-size: 0.8rem; word-break: break-all; }
.verdict { font-weight: bold; padding: 0 0.3rem; border-radius: 0.2rem; }
.verdict.pass { background: #d7f0d9; color: #0b4f14; } .verdict.fail { background: #f7d4d4; color: #7a0b0b; }
.verdict.inconclusive { background: #fbecc4; color: #5c4200; } .verdict.none { background: #eee; color: #333; }
.suppressed { font-style: italic; color: #5c4200; } .warning { color: #7a0b0b; font-weight: bold; }
figure { margin: 1rem 0; } figcaption { font-size: 0.85rem; color: #333; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid-page; } }
`;

/**
 * The evaluation report as one self-contained HTML document (inline style and SVG, no script, no external
 * resource), with the report's JSON embedded so a reader can take the numbers out of the document they were
 * given. Deterministic: the same report object always gives the same bytes.
 */
export function renderReportHtml(r: EvaluationReport): string {
  const title = `Evaluation report: ${r.device.vendor} ${r.device.name} ${r.device.version}${r.region ? `, region ${r.region}` : ''}`;
  const json = JSON.stringify(r).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="Cairn">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p>Data as of ${esc(r.asOf)}. Campaign ${esc(r.design.campaignName)}; ${r.design.sites} sites in ${r.design.regions.length} regions. Built by Cairn from the stored, signed site reports listed in section 12; the same stored data always give this same document.</p>
${verdictSection(r)}
${deviceSection(r)}
${designSection(r)}
${sitesSection(r)}
${criteriaSection(r)}
${resultsSection(r)}
${calibrationSection(r)}
${subgroupsSection(r)}
${comparisonSection(r)}
${governanceSection(r)}
${privacySection(r)}
${inputsSection(r)}
${checklistSection(r)}
</main>
<script type="application/json" id="cairn-evaluation-report">${json}</script>
</body>
</html>
`;
}
