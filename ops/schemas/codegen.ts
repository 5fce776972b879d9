import fs from 'node:fs';
import path from 'node:path';
import type avro from 'avsc';
import type { SchemaName } from '../../schemas/avro';
import { SCHEMA_FILES, readSchema, schemaDir } from '../../schemas/avro';

/**
 * Generates schemas/types.generated.ts from the .avsc files: the .avsc files are the source of
 * the domain types. A test regenerates it and fails on any difference (schema drift).
 */
interface Field {
  name: string;
  type: avro.Schema;
  doc?: string;
}

interface Emitter {
  declarations: Map<string, string>;
}

function typeName(fullName: string): string {
  return fullName.split('.').pop() as string;
}

function tsType(schema: avro.Schema, out: Emitter, namespace?: string): string {
  if (typeof schema === 'string') {
    switch (schema) {
      case 'string':
        return 'string';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'bytes':
        return 'Buffer';
      case 'null':
        return 'null';
      default:
        return typeName(schema);
    }
  }
  if (Array.isArray(schema)) return schema.map((s) => tsType(s, out, namespace)).join(' | ');
  const s = schema as {
    type: string;
    logicalType?: string;
    items?: avro.Schema;
    values?: avro.Schema;
    symbols?: string[];
    name?: string;
    namespace?: string;
    fields?: Field[];
    doc?: string;
  };
  if (s.logicalType === 'decimal') return 'Decimal';
  if (s.logicalType === 'timestamp-micros') return 'number';
  switch (s.type) {
    case 'array':
      return `readonly ${wrap(tsType(s.items as avro.Schema, out, namespace))}[]`;
    case 'map':
      return `Readonly<Record<string, ${tsType(s.values as avro.Schema, out, namespace)}>>`;
    case 'enum': {
      const name = typeName(s.name as string);
      out.declarations.set(
        name,
        `${doc(s.doc, '')}export type ${name} = ${(s.symbols ?? []).map((x) => `'${x}'`).join(' | ')};\n`,
      );
      return name;
    }
    case 'record': {
      const name = typeName(s.name as string);
      const ns = s.namespace ?? namespace;
      const fields = (s.fields ?? []).map(
        (f) => `${doc(f.doc, '  ')}  readonly ${f.name}: ${tsType(f.type, out, ns)};`,
      );
      out.declarations.set(name, `${doc(s.doc, '')}export interface ${name} {\n${fields.join('\n')}\n}\n`);
      return name;
    }
    default:
      return tsType(s.type as avro.Schema, out, namespace);
  }
}

function wrap(t: string): string {
  return t.includes(' ') ? `(${t})` : t;
}

function doc(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text} */\n` : '';
}

export function generateTypes(): string {
  const out: Emitter = { declarations: new Map() };
  for (const name of Object.keys(SCHEMA_FILES) as SchemaName[]) tsType(readSchema(name), out);
  const header = [
    '// Generated from schemas/*.avsc by `tickflow schemas codegen`; do not edit.',
    '// A test fails when this file and the .avsc files disagree.',
    "import type { Decimal } from './decimal';",
    '',
  ].join('\n');
  const body = [...out.declarations.values()].join('\n');
  return `${header}\n${body}`;
}

export function generatedPath(): string {
  return path.join(schemaDir(), 'types.generated.ts');
}

export function writeTypes(): string {
  const file = generatedPath();
  fs.writeFileSync(file, generateTypes());
  return file;
}
