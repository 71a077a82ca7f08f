'use strict';
/**
 * A small JSON Schema validator for the subset benchmarks/SCHEMA.md uses: type (one or several),
 * properties, required, additionalProperties (boolean or schema), items, enum, const, minimum,
 * minItems, pattern, and local $ref ("#/definitions/name"). Returns every error, each with the
 * JSON path where it happened, so a failing test says what is wrong.
 */

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want, v) {
  const got = typeOf(v);
  return want === got || (want === 'number' && got === 'integer');
}

function resolveRef(root, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref supported, got ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split('/')) {
    node = node[part];
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return node;
}

function validate(schema, value, root = schema, path = '$', errors = []) {
  if (schema.$ref) return validate(resolveRef(root, schema.$ref), value, root, path, errors);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, value))) {
      errors.push(`${path}: expected ${types.join('|')}, got ${typeOf(value)}`);
      return errors;
    }
  }
  if (schema.const !== undefined && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) errors.push(`${path}: not finite`);
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: ${value} < minimum ${schema.minimum}`);
  }
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    errors.push(`${path}: "${value}" does not match /${schema.pattern}/`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((item, i) => validate(schema.items, item, root, `${path}[${i}]`, errors));
  }
  if (typeOf(value) === 'object') {
    for (const key of schema.required || []) {
      if (!(key in value)) errors.push(`${path}: missing required property "${key}"`);
    }
    const props = schema.properties || {};
    for (const [key, v] of Object.entries(value)) {
      if (props[key]) validate(props[key], v, root, `${path}.${key}`, errors);
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property "${key}"`);
      else if (typeof schema.additionalProperties === 'object') validate(schema.additionalProperties, v, root, `${path}.${key}`, errors);
    }
  }
  return errors;
}

/**
 * The JSON Schema embedded in a Markdown file: the first ```json fenced block, or with `title` the
 * one whose "title" is that.
 */
function schemaFromMarkdown(markdown, title) {
  for (const m of markdown.matchAll(/```json\s*\n([\s\S]*?)\n```/g)) {
    const schema = JSON.parse(m[1]);
    if (title === undefined || schema.title === title) return schema;
  }
  throw new Error(`no \`\`\`json block${title === undefined ? '' : ` titled "${title}"`} in the schema document`);
}

module.exports = { validate, schemaFromMarkdown };
