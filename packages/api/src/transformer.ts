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
 * `{ json, meta: { values, v: 1 } }`, in one walk that copies only what leads
 * to a Date: each Date becomes its ISO string (what superjson writes) in a
 * shallow copy of its parents, and every other object of the answer is its
 * own `json` (JSON.stringify leaves undefined properties out, and writes a
 * hole or undefined in an array as null, as superjson's copy does). A path is
 * built only for the Dates and undefineds noted. (Copying a message to set
 * its date costs less than JSON.stringify calling a Date's toJSON.) A shared
 * object is written at each of its places, without superjson's identity
 * note: the client gets equal copies. Anything else is handed to
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

  /** `v` itself, or its copy with its Dates as ISO strings. */
  const walk = (v: unknown): unknown => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) throw unsupported;
        return v;
      case 'undefined':
        note(['undefined']);
        return v;
      case 'object': {
        if (v === null) return v;
        if (v instanceof Date) {
          if (Number.isNaN(v.getTime()) || Object.getPrototypeOf(v) !== Date.prototype) throw unsupported;
          note(['Date']);
          return v.toISOString();
        }
        if (keys.length >= MAX_DEPTH) throw unsupported;
        const depth = keys.length;
        let copy: unknown[] | Record<string, unknown> | null = null;
        if (Array.isArray(v)) {
          let items: unknown[] | null = null;
          // A hole stays a hole (JSON null), as superjson leaves it (slice keeps holes).
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) continue;
            keys[depth] = i;
            const item: unknown = v[i];
            const out = walk(item);
            if (out !== item) (items ??= v.slice())[i] = out;
          }
          copy = items;
        } else {
          if (!isPlainObject(v)) throw unsupported;
          let fields: Record<string, unknown> | null = null;
          for (const key of Object.keys(v)) {
            if (FORBIDDEN_KEYS.has(key)) throw unsupported;
            keys[depth] = key;
            const item = (v as Record<string, unknown>)[key];
            const out = walk(item);
            if (out !== item) (fields ??= { ...v } as Record<string, unknown>)[key] = out;
          }
          copy = fields;
        }
        keys.length = depth;
        return copy ?? v;
      }
      default:
        throw unsupported;
    }
  };

  try {
    const json = walk(value);
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
