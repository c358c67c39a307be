import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { publishedSchema } from '../../../src/config/schema.js';

const MESH_CONFIG_SCHEMA = publishedSchema();
import { allPropertyNames, currentReference, generateReference } from '../../helpers/config-reference.js';

describe('docs/configuration.md and the JSON Schema', () => {
  it('the reference is the one generated from the schema (run `npm run docs:config` after changing the schema)', () => {
    expect(currentReference()).toBe(generateReference().trim());
  });

  it('the reference has a row for every property of the schema', () => {
    const reference = currentReference() ?? '';
    const missing = [...allPropertyNames(MESH_CONFIG_SCHEMA)].filter((name) => !reference.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });

  it('dist/schema.json is written by the build from the same object', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.exports['./schema.json']).toBe('./dist/schema.json');
    expect(pkg.scripts.build).toContain('.ci/write-schema.mjs');
  });
});

describe('the JSON Schema names the options the validator knows', () => {
  it('top level, services and defaults have the same keys (functions excepted)', async () => {
    const { CONFIG_KEYS, SERVICE_KEYS, DEFAULTS_KEYS } = await import('../../../src/config/resolve.js');
    const props = MESH_CONFIG_SCHEMA.properties!;
    const service = (props.services!.additionalProperties as typeof MESH_CONFIG_SCHEMA).properties!;
    expect(Object.keys(props).sort()).toEqual([...CONFIG_KEYS].sort());
    expect(Object.keys(service).sort()).toEqual(SERVICE_KEYS.filter((k) => k !== 'auth').sort());
    expect(Object.keys(props.defaults!.properties!).sort()).toEqual([...DEFAULTS_KEYS].sort());
  });
});
