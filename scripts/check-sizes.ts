/**
 * `npm run check:sizes`: the house size rules — files over 400 lines, functions over 80 lines of their own
 * (a nested function's lines count for it, not for the function around it). Generated migrations and the
 * callbacks of test groups (`describe`, `it`, …) are left out. Prints each offender, largest first, and exits 1
 * when there is one.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const MAX_FILE_LINES = 400;
const MAX_OWN_LINES = 80;
const TEST_GROUP = /^(describe|it|test|beforeAll|afterAll|beforeEach|afterEach)\b/;

type FunctionLike = ts.FunctionDeclaration | ts.MethodDeclaration | ts.ArrowFunction | ts.FunctionExpression;

const isFunctionLike = (n: ts.Node): n is FunctionLike =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n);

function functionName(n: FunctionLike): string {
  if (n.name) return n.name.getText();
  const p = n.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p)) return p.name.getText();
  if (ts.isCallExpression(p)) return `callback of ${p.expression.getText().slice(0, 40)}`;
  return '(anonymous)';
}

/** Lines of `n` minus the lines of the functions directly inside it. */
function ownLines(sf: ts.SourceFile, n: ts.Node): number {
  const span = (m: ts.Node) =>
    sf.getLineAndCharacterOfPosition(m.getEnd()).line -
    sf.getLineAndCharacterOfPosition(m.getStart()).line +
    1;
  let nested = 0;
  const visit = (m: ts.Node) => {
    if (isFunctionLike(m)) nested += span(m);
    else ts.forEachChild(m, visit);
  };
  ts.forEachChild(n, visit);
  return span(n) - nested;
}

function longFunctions(file: string, text: string): [number, string][] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: [number, string][] = [];
  const visit = (n: ts.Node) => {
    if (isFunctionLike(n)) {
      const own = ownLines(sf, n);
      const testGroup = ts.isCallExpression(n.parent) && TEST_GROUP.test(n.parent.expression.getText());
      if (own > MAX_OWN_LINES && !testGroup)
        found.push([
          own,
          `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1} ${functionName(n)}`,
        ]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f !== '' && !f.includes('/migrations/'));
const bigFiles: [number, string][] = [];
const bigFunctions: [number, string][] = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').length;
  if (lines > MAX_FILE_LINES) bigFiles.push([lines, file]);
  bigFunctions.push(...longFunctions(file, text));
}
const byCount = (a: [number, string], b: [number, string]) => b[0] - a[0];
console.log(`files over ${MAX_FILE_LINES} lines: ${bigFiles.length}`);
for (const [n, f] of bigFiles.sort(byCount)) console.log(`  ${n} ${f}`);
console.log(`functions over ${MAX_OWN_LINES} own lines: ${bigFunctions.length}`);
for (const [n, f] of bigFunctions.sort(byCount)) console.log(`  ${n} ${f}`);
if (bigFiles.length || bigFunctions.length) process.exitCode = 1;
