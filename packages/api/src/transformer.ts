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

const escapeKey = (key: string | number) =>
  typeof key === 'number' || !(key.includes('.') || key.includes('\\')) ? key : key.replace(/\\/g, '\\\\').replace(/\./g, '\\.');
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Deeper than this is taken for a cycle (superjson's job); no answer of the API nests a tenth as deep. */
const MAX_DEPTH = 200;

const isPlainObject = (value: object) => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * superjson.serialize for JSON values, Dates and undefined: the same
 * `{ json, meta: { values, v: 1 } }`, found in one walk that copies nothing.
 * `json` is the value itself: JSON.stringify writes a Date as its
 * toISOString() (what superjson puts there) and leaves out undefined
 * properties (a hole or undefined in an array becomes null, as superjson's
 * copy does); the walk only checks that nothing else is in it and notes
 * where the Dates and undefineds are, building a path only for those. A
 * shared object is written at each of its places, without superjson's
 * identity note: the client gets equal copies. Anything else is handed to
 * superjson.serialize whole.
 */
export function serializeOutput(value: unknown): Encoded {
  if (value === null || typeof value !== 'object' || value instanceof Date) return superjson.serialize(value) as Encoded;
  const values: Record<string, Annotation> = {};
  let annotated = false;
  // The keys from the root to the node being walked; superjson's path is them escaped and joined by dots.
  const keys: (string | number)[] = [];
  const note = (annotation: Annotation) => {
    values[keys.map(escapeKey).join('.')] = annotation;
    annotated = true;
  };

  const walk = (v: unknown): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) throw unsupported;
        return;
      case 'undefined':
        return note(['undefined']);
      case 'object': {
        if (v === null) return;
        if (v instanceof Date) {
          if (Number.isNaN(v.getTime()) || Object.getPrototypeOf(v) !== Date.prototype) throw unsupported;
          return note(['Date']);
        }
        if (keys.length >= MAX_DEPTH) throw unsupported;
        const depth = keys.length;
        if (Array.isArray(v)) {
          // A hole stays a hole (JSON null), as superjson leaves it.
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) continue;
            keys[depth] = i;
            walk(v[i]);
          }
        } else {
          if (!isPlainObject(v)) throw unsupported;
          for (const key of Object.keys(v)) {
            if (FORBIDDEN_KEYS.has(key)) throw unsupported;
            keys[depth] = key;
            walk((v as Record<string, unknown>)[key]);
          }
        }
        keys.length = depth;
        return;
      }
      default:
        throw unsupported;
    }
  };

  try {
    walk(value);
    return annotated ? { json: value, meta: { values, v: 1 } } : { json: value };
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
