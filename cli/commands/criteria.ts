/**
 * `cairn criteria template|validate|schema|plan`: acceptance criteria (cairn.criteria/v1) a coordinator writes
 * before the data arrive, attaches with `cairn campaign create --criteria F`, and sizes with `plan`. Each
 * action loads what it needs when it runs.
 */
import { Argument, type Command, Option } from 'commander';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';
import { api, apiCommand } from './api-command.ts';

const TEMPLATES = ['triage', 'screening', 'minimum-sample'] as const;

interface PlanFlags {
  criteria: string;
  prevalence: string;
  expectedSensitivity: string;
  expectedSpecificity: string;
  sites: string;
  method: 'wilson' | 'clopper-pearson';
  output: string;
}

/** The planner's numbers from the flags, or one line naming the flag that is out of range. */
function planAssumptions(o: PlanFlags) {
  const share = (flag: string, text: string) => {
    const v = Number(text);
    if (!(v > 0 && v < 1)) throw new CliError(`criteria plan: ${flag} must be a number between 0 and 1`);
    return v;
  };
  const sites = Number(o.sites);
  if (!Number.isInteger(sites) || sites < 1)
    throw new CliError('criteria plan: --sites must be a whole number ≥ 1');
  return {
    prevalence: share('--prevalence', o.prevalence),
    sensitivity: share('--expected-sensitivity', o.expectedSensitivity),
    specificity: share('--expected-specificity', o.expectedSpecificity),
    sites,
    method: o.method,
  };
}

export function registerCriteriaCommands(program: Command): void {
  const criteria = program
    .command('criteria')
    .description('acceptance criteria: templates, checking a file, its JSON Schema, sample sizes');

  addOutputOption(
    criteria
      .command('template')
      .description(
        'print criteria to start from: FDA triage goals, screening non-inferiority, minimum sample',
      )
      .addArgument(new Argument('<name>', TEMPLATES.join(' | ')).choices(TEMPLATES))
      .option('--versus <model@version>', 'screening: the version in use the new one must not be worse than'),
  ).action(async (name: (typeof TEMPLATES)[number], o: { versus?: string; output: string }) => {
    if (name === 'screening' && !o.versus)
      throw new CliError('criteria template screening: name the version in use with --versus name@version');
    const [{ criteriaTemplate }, { checkCriteria }] = await Promise.all([
      import('../../functions/criteria/templates.ts'),
      import('../../functions/criteria/check-criteria.ts'),
    ]);
    const template = criteriaTemplate(name, o.versus);
    const check = checkCriteria(template);
    if (!check.ok) throw new CliError(`criteria template ${name}: ${check.problems.join('; ')}`);
    process.stdout.write(`${JSON.stringify(check.criteria, null, 2)}\n`);
  });

  addOutputOption(
    criteria
      .command('validate')
      .description('check a criteria file: one line per problem')
      .argument('<file>'),
  ).action(async (file: string, o: { output: string }) => {
    const { readCriteriaFile } = await import('./criteria-file.ts');
    const { criteria: c, sha256 } = readCriteriaFile(file);
    print(
      o.output,
      { ok: true, rules: c.rules.length, sha256 },
      () => `criteria ${file}: valid, ${c.rules.length} rule(s), sha256 ${sha256}`,
    );
  });

  addOutputOption(
    criteria
      .command('plan')
      .description('how many cases each scope and site needs for each rule to be decidable')
      .requiredOption('--criteria <file>', 'criteria file (cairn.criteria/v1)')
      .requiredOption('--prevalence <p>', 'expected share of positive studies, in (0, 1)')
      .requiredOption('--expected-sensitivity <s>', 'expected sensitivity, in (0, 1)')
      .requiredOption('--expected-specificity <s>', 'expected specificity, in (0, 1)')
      .option('--sites <n>', 'sites sharing each scope’s sample', '1')
      .addOption(
        new Option('--method <m>', 'interval the sites report')
          .choices(['wilson', 'clopper-pearson'])
          .default('wilson'),
      ),
  ).action(async (o: PlanFlags) => {
    const assumptions = planAssumptions(o);
    const [{ readCriteriaFile }, { planCriteria }, { table }] = await Promise.all([
      import('./criteria-file.ts'),
      import('../../functions/criteria/plan.ts'),
      import('../table.ts'),
    ]);
    const rows = planCriteria(readCriteriaFile(o.criteria).criteria, assumptions);
    const n = (v: number | null) => (v === null ? '—' : String(v));
    print(o.output, { assumptions, rules: rows }, () =>
      table(
        ['RULE', 'SCOPE', 'WHAT', 'CASES', 'POSITIVES', 'NEGATIVES', 'PER SITE', 'NOTE'],
        rows.map((r) => [
          String(r.rule),
          r.scope,
          r.what,
          n(r.cases),
          n(r.positives),
          n(r.negatives),
          n(r.casesPerSite),
          r.reason ?? '',
        ]),
      ),
    );
  });

  apiCommand(criteria, 'attach', 'attach criteria to a campaign that has none: marked POST HOC for good')
    .requiredOption('--campaign <id>', 'campaign id')
    .requiredOption('--criteria <file>', 'criteria file (cairn.criteria/v1)')
    .action(
      async (o: { campaign: string; criteria: string; cloud: string; token?: string; output: string }) => {
        const { readCriteriaFile } = await import('./criteria-file.ts');
        const { criteria: c } = readCriteriaFile(o.criteria);
        const r = await api(o).json<{ campaignId: string; criteriaSha256: string; postHoc: true }>(
          'POST',
          `/v1/campaigns/${encodeURIComponent(o.campaign)}/criteria`,
          { json: { criteria: c } },
        );
        print(o.output, r, () => `campaign ${r.campaignId}: criteria ${r.criteriaSha256} attached POST HOC`);
      },
    );

  criteria
    .command('schema')
    .description('print the JSON Schema of cairn.criteria/v1')
    .action(async () => {
      const { criteriaJsonSchema } = await import('../../schemas/criteria.ts');
      process.stdout.write(`${JSON.stringify(criteriaJsonSchema(), null, 2)}\n`);
    });
}
