/**
 * `cairn criteria template|validate|schema|plan`: acceptance criteria (cairn.criteria/v1) a coordinator writes
 * before the data arrive, attaches with `cairn campaign create --criteria F`, and sizes with `plan`. Each
 * action loads what it needs when it runs.
 */
import { Argument, type Command } from 'commander';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';

const TEMPLATES = ['triage', 'screening', 'minimum-sample'] as const;

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

  criteria
    .command('schema')
    .description('print the JSON Schema of cairn.criteria/v1')
    .action(async () => {
      const { criteriaJsonSchema } = await import('../../schemas/criteria.ts');
      process.stdout.write(`${JSON.stringify(criteriaJsonSchema(), null, 2)}\n`);
    });
}
