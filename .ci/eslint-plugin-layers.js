// A small local ESLint plugin: layers that only point down.
//
// `layers/no-cycle`     no chain of imports leads from a file back to itself.
// `layers/folder-order` a file under `root` imports only files of its own
//                       folder or of folders declared below it in `layers`.
//
// Every kind of import counts: `import`, `import type`, `export ... from`,
// dynamic `import()` and `import('...').T` in types. A type-only cycle still
// ties two modules together for the reader and for the next refactoring.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The file a relative specifier names, or undefined for a package or a file
 * that does not exist. `./x.js` is the TypeScript source `./x.ts`.
 */
export function resolveImport(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

const cache = new Map(); // file -> { mtimeMs, imports }

/** The files `file` imports (relative imports only), read from disk. */
export function importsOf(file) {
  const { mtimeMs } = statSync(file);
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.imports;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const imports = [...new Set(importedFiles.map((f) => resolveImport(file, f.fileName)).filter(Boolean))];
  cache.set(file, { mtimeMs, imports });
  return imports;
}

/** A shortest import chain from `start` to `target` (both included), or undefined. */
function pathTo(start, target) {
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    if (file === target) {
      const chain = [];
      for (let f = file; f !== undefined; f = previous.get(f)) chain.unshift(f);
      return chain;
    }
    for (const next of importsOf(file)) {
      if (!previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** Calls `check(node, specifier)` for every import of any kind in the file. */
function eachImport(check) {
  const source = (node) => {
    if (node.source && typeof node.source.value === 'string') check(node, node.source.value);
  };
  return {
    ImportDeclaration: source,
    ExportNamedDeclaration: source,
    ExportAllDeclaration: source,
    ImportExpression(node) {
      if (node.source.type === 'Literal' && typeof node.source.value === 'string') check(node, node.source.value);
    },
    TSImportType(node) {
      const arg = node.argument;
      const literal = arg?.type === 'TSLiteralType' ? arg.literal : arg;
      if (literal?.type === 'Literal' && typeof literal.value === 'string') check(node, literal.value);
    },
  };
}

const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import chains (type imports included) that lead back to the importing file.' },
    schema: [],
    messages: { cycle: 'Import cycle: {{chain}}. Move what both sides need to a module below them.' },
  },
  create(context) {
    const file = context.filename;
    const cwd = context.cwd;
    return eachImport((node, specifier) => {
      const target = resolveImport(file, specifier);
      if (!target) return;
      const back = target === file ? [file] : pathTo(target, file);
      if (!back) return;
      const chain = [file, ...back].map((f) => relative(cwd, f)).join(' -> ');
      context.report({ node, messageId: 'cycle', data: { chain } });
    });
  },
};

/** The layer name of a file under root: its first folder, or its own name for a top-level file. */
function layerOf(root, file) {
  const rel = relative(root, file);
  if (rel.startsWith('..') || rel === '') return undefined;
  const parts = rel.split(sep);
  return parts.length === 1 ? parts[0].replace(/\.[cm]?[jt]s$/, '') : parts[0];
}

const folderOrder = {
  meta: {
    type: 'problem',
    docs: { description: 'Each folder under root imports only itself and the folders declared below it.' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          // Lowest first. An entry is a folder, or a list of folders on one level that must not import each other.
          layers: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } },
        },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      upward: '{{from}}/ may not import {{to}}/ ({{specifier}}): {{to}}/ is not below {{from}}/ in the layer order of .ci/eslint.config.js.',
      unlisted: '{{folder}}/ is not in the layer order of .ci/eslint.config.js: add it where it belongs.',
    },
  },
  create(context) {
    const { root: rootOption, layers } = context.options[0];
    const root = resolve(context.cwd, rootOption);
    const rank = new Map();
    layers.forEach((entry, i) => {
      for (const folder of [entry].flat()) rank.set(folder, i);
    });
    const file = context.filename;
    const from = layerOf(root, file);
    if (from === undefined) return {};
    return {
      Program(node) {
        if (!rank.has(from)) context.report({ node, messageId: 'unlisted', data: { folder: from } });
      },
      ...eachImport((node, specifier) => {
        const target = resolveImport(file, specifier);
        const to = target && layerOf(root, target);
        if (to === undefined || to === from) return;
        if (!rank.has(to)) return context.report({ node, messageId: 'unlisted', data: { folder: to } });
        if (rank.has(from) && rank.get(to) >= rank.get(from)) {
          context.report({ node, messageId: 'upward', data: { from, to, specifier } });
        }
      }),
    };
  },
};

export default { meta: { name: 'layers' }, rules: { 'no-cycle': noCycle, 'folder-order': folderOrder } };
