import superjson from 'superjson';

// The wire format stays superjson's (clients decode with superjson itself); only the server's
// encoding of its answers takes a faster path. superjson.serialize copies the path and the
// ancestor list at every node and re-keys every annotation at every level, which made it the
// largest single cost of a context.get over HTTP (about 4 ms of CPU for a page of 200 messages).

type Annotation = ['Date'] | ['undefined'];
type Encoded = { json: unknown; meta?: { values: Record<string, Annotation>; v: 1 } };

/** What this encoder leaves to superjson (a Map, a class instance, NaN, a cycle...). */
class Unsupported extends Error {}
const unsupported = new Unsupported();

const escapeKey = (key: string) => (key.includes('.') || key.includes('\\') ? key.replace(/\\/g, '\\\\').replace(/\./g, '\\.') : key);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const isPlainObject = (value: object) => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * superjson.serialize for JSON values, Dates and undefined in one pass: the
 * same `{ json, meta: { values, v: 1 } }` (a shared object is written at each
 * of its places, without superjson's identity note: the client gets equal
 * copies). Anything else is handed to superjson.serialize whole.
 */
export function serializeOutput(value: unknown): Encoded {
  if (value === null || typeof value !== 'object' || value instanceof Date) return superjson.serialize(value) as Encoded;
  const values: Record<string, Annotation> = {};
  const ancestors = new Set<object>();
  let annotated = false;

  // `path` is superjson's: the escaped keys joined by dots (so an empty key is an empty segment).
  const walk = (v: unknown, path: string, root = false): unknown => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) throw unsupported;
        return v;
      case 'undefined':
        values[path] = ['undefined'];
        annotated = true;
        return undefined;
      case 'object': {
        if (v === null) return null;
        if (v instanceof Date) {
          if (Number.isNaN(v.getTime())) throw unsupported;
          values[path] = ['Date'];
          annotated = true;
          return v.toISOString();
        }
        if (ancestors.has(v)) throw unsupported;
        const prefix = root ? '' : `${path}.`;
        ancestors.add(v);
        let out: unknown;
        if (Array.isArray(v)) {
          const arr = new Array<unknown>(v.length);
          // A hole stays a hole (JSON null), as superjson leaves it.
          for (let i = 0; i < v.length; i++) if (i in v) arr[i] = walk(v[i], prefix + i);
          out = arr;
        } else {
          if (!isPlainObject(v)) throw unsupported;
          const obj: Record<string, unknown> = {};
          for (const key of Object.keys(v)) {
            if (FORBIDDEN_KEYS.has(key)) throw unsupported;
            obj[key] = walk((v as Record<string, unknown>)[key], prefix + escapeKey(key));
          }
          out = obj;
        }
        ancestors.delete(v);
        return out;
      }
      default:
        throw unsupported;
    }
  };

  try {
    const json = walk(value, '', true);
    return annotated ? { json, meta: { values, v: 1 } } : { json };
  } catch (error) {
    if (error === unsupported) return superjson.serialize(value) as Encoded;
    throw error;
  }
}

/** tRPC's transformer: superjson for inputs, superjson's format through `serializeOutput` for answers. */
export const transformer = {
  input: superjson,
  output: { serialize: serializeOutput, deserialize: (data: unknown) => superjson.deserialize(data as Parameters<typeof superjson.deserialize>[0]) },
};
