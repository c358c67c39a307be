/** A short description of a value for error messages: its type and, for scalars, the value. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `"${value.length > 60 ? `${value.slice(0, 57)}...` : value}"`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'nothing';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}
