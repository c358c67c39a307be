import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { RESILIENCE_DEFAULTS } from '../../../src/resilience/options.js';
import { RETRY_SCHEMA } from '../../../src/config/schema.js';
import { defaultWording } from '../../../src/util/schema-blocks.js';

// Defaults are written once, as the last argument of the schema helper that
// builds an option (`int('...', 1, 10, 3)`): the schema's `default`, the
// published description ("Default 3.") and the resolvers' fill all come from
// it. The TSDoc above each option is the one hand-written copy; this checks
// it says the same.

/** Every source that builds schema with the building blocks: the config schema and each feature's fragment. */
const srcRoot = fileURLToPath(new URL('../../../src/', import.meta.url));
const files = (readdirSync(srcRoot, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.startsWith('util'))
  .filter((f) => readFileSync(join(srcRoot, f), 'utf8').includes('/util/schema-blocks.js'));

/** Where each helper takes its default. `orFalse` takes whether the block is on. */
const FALLBACK_ARG: Record<string, number> = { int: 3, num: 3, percent: 1, bool: 1, described: 1, orFalse: 1, ejectAfter: 1, oneOf: 2 };

interface Option {
  readonly at: string;
  readonly key: string;
  readonly doc: string;
  readonly wording: string | undefined;
}

const options: Option[] = [];
let handWritten = 0;
for (const name of files) {
  const source = ts.createSourceFile(name, readFileSync(join(srcRoot, name), 'utf8'), ts.ScriptTarget.ES2022, true);
  const constants = new Map<string, ts.Expression>();
  source.forEachChild(function visit(node) {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) constants.set(node.name.text, node.initializer);
    node.forEachChild(visit);
  });
  const line = (node: ts.Node) => `${name}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

  /** The value of a literal default in the source (numbers, strings, booleans, lists, a named constant). */
  const evaluate = (e: ts.Expression): unknown => {
    if (ts.isNumericLiteral(e)) return Number(e.text);
    if (ts.isStringLiteralLike(e)) return e.text;
    if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (ts.isArrayLiteralExpression(e)) return e.elements.map(evaluate);
    if (ts.isIdentifier(e) && constants.has(e.text)) return evaluate(constants.get(e.text)!);
    if (ts.isIdentifier(e) && e.text === 'undefined') return undefined;
    throw new Error(`${line(e)}: not a literal default: ${e.getText()}`);
  };

  /** The default an option's initializer gives, in the words its description gets; undefined when it gives none. */
  const defaultOf = (initializer: ts.Expression): string | undefined => {
    let found: string | undefined;
    const visit = (node: ts.Node): void => {
      if (found !== undefined) return;
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text in FALLBACK_ARG) {
        const arg = node.arguments[FALLBACK_ARG[node.expression.text]!];
        if (arg !== undefined) {
          const value = evaluate(arg);
          if (value !== undefined) {
            found = node.expression.text === 'orFalse' ? (value ? 'on' : 'off') : defaultWording(value);
            return;
          }
        }
      }
      node.forEachChild(visit);
    };
    visit(initializer);
    return found;
  };

  source.forEachChild(function visit(node) {
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
      const doc = ts
        .getJSDocCommentsAndTags(node)
        .map((d) => d.getText())
        .join('\n')
        .replace(/^\s*\/?\*+\/?/gm, '')
        .replace(/\s+/g, ' ');
      if (doc !== '') options.push({ at: line(node), key: node.name.text, doc, wording: defaultOf(node.initializer) });
    }
    node.forEachChild(visit);
  });
  handWritten += [...source.text.matchAll(/'[^'\n]*Default \d[^'\n]*'/g)].length;
}

describe('schema defaults', () => {
  it('the TSDoc of every option with a default says that default', () => {
    const withDefault = options.filter((o) => o.wording !== undefined);
    expect(withDefault.length).toBeGreaterThan(40);
    const wrong = withDefault.filter((o) => !o.doc.includes(`Default ${o.wording}.`)).map((o) => `${o.at} ${o.key}: TSDoc should say "Default ${o.wording}." (${o.doc.trim()})`);
    expect(wrong).toEqual([]);
  });

  it('the schema and the resolved defaults are one value', () => {
    const retry = RESILIENCE_DEFAULTS.retry!;
    expect(retry.attempts).toBe(RETRY_SCHEMA.properties.attempts.default);
    expect([...retry.retryOn]).toEqual(RETRY_SCHEMA.properties.retryOn.default);
    expect(RESILIENCE_DEFAULTS.timeout).toBeUndefined();
    expect(RESILIENCE_DEFAULTS.serviceBreaker).toBeUndefined();
    expect(RESILIENCE_DEFAULTS.endpointBreaker).toMatchObject({ consecutiveFailures: 5, halfOpenAfterMs: 1_000, count5xx: false });
    expect(RESILIENCE_DEFAULTS.outlierDetection).toMatchObject({ consecutive5xx: 5, consecutiveGatewayFailure: undefined, failurePercentage: undefined });
  });

  it('a number said as a default in a hand-written description is a ratchet: write it as the helper argument instead', () => {
    // Descriptions still carrying their own "Default <number>" text (not yet given as the helper's default).
    expect(files).toContain('health/schema.ts');
    expect(handWritten).toBeLessThanOrEqual(HAND_WRITTEN_DEFAULTS);
  });
});

/** Lower it as options move to helper defaults; it only goes down. */
const HAND_WRITTEN_DEFAULTS = 1;
