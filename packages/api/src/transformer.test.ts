import fc from 'fast-check';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { serializeOutput } from './transformer.ts';

const roundTrip = (value: unknown) => superjson.deserialize(JSON.parse(JSON.stringify(serializeOutput(value))));
const viaSuperjson = (value: unknown) => superjson.parse(superjson.stringify(value));

/** Keys that need superjson's path escaping, and ordinary ones (not those both encoders refuse, tested below). */
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
const key = fc.oneof(fc.string(), fc.constantFrom('a.b', 'a\\b', '\\.', '..', '', '0', 'createdAt')).filter((k) => !FORBIDDEN.includes(k));
const date = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true });
const leaf = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)), fc.integer(), date);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 5, noNullPrototype: true }),
})).node;

describe('serializeOutput (the answers in superjson format, faster)', () => {
  it('superjson decodes what it encodes to the same value superjson itself would give back', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(value), fc.dictionary(key, value, { noNullPrototype: true })), (v) => {
        expect(roundTrip(v)).toStrictEqual(viaSuperjson(v));
        expect(roundTrip(v)).toStrictEqual(v);
        // On the wire, superjson's own annotations (its json writes an undefined property as null, this one leaves it out: both decode to undefined).
        expect(JSON.parse(JSON.stringify(serializeOutput(v))).meta).toEqual(JSON.parse(superjson.stringify(v)).meta);
      }),
      { numRuns: 500 },
    );
  });

  it('an answer of the API (Dates deep inside, optional fields) keeps its Dates and undefineds', () => {
    const answer = {
      context: { id: 'c', createdAt: new Date('2026-01-02T03:04:05.678Z'), deletedAt: null, title: undefined },
      messages: [{ id: 'm', 'odd.key': { 'x\\y': new Date(0) }, parts: [{ type: 'text', text: 'hi' }] }],
    };
    const encoded = serializeOutput(answer);
    expect(encoded.meta?.values).toEqual({
      'context.createdAt': ['Date'],
      'context.title': ['undefined'],
      'messages.0.odd\\.key.x\\\\y': ['Date'],
    });
    expect(roundTrip(answer)).toStrictEqual(answer);
    expect(serializeOutput({ a: 1, b: ['x'] })).toEqual({ json: { a: 1, b: ['x'] } });
    // eslint-disable-next-line no-sparse-arrays
    const holes = { h: [, 1, undefined] };
    expect(roundTrip(holes)).toStrictEqual(viaSuperjson(holes));
  });

  it('copies only what leads to a Date, and leaves the answer as it was', () => {
    const answer = { items: [{ id: 'm', createdAt: new Date(7), parts: [{ type: 'text', text: 'a.b' }] }], next: undefined, other: { n: 1 } };
    const before = structuredClone(answer);
    const encoded = serializeOutput(answer);
    const json = encoded.json as typeof answer;
    expect(json).not.toBe(answer);
    expect(json.items[0]!.parts).toBe(answer.items[0]!.parts);
    expect(json.other).toBe(answer.other);
    expect(answer).toStrictEqual(before);
    const dateless = { items: [{ id: 'm' }] };
    expect(serializeOutput(dateless).json).toBe(dateless);
    expect(JSON.parse(JSON.stringify(encoded))).toEqual({ json: { items: [{ id: 'm', createdAt: new Date(7).toISOString(), parts: [{ type: 'text', text: 'a.b' }] }], other: { n: 1 } }, meta: { values: { 'items.0.createdAt': ['Date'], next: ['undefined'] }, v: 1 } });
  });

  it('nesting deeper than it walks, and Date subclasses, go to superjson (same answer back)', () => {
    let deep: Record<string, unknown> = { at: new Date(1) };
    for (let i = 0; i < 300; i++) deep = { d: deep };
    expect(serializeOutput(deep)).toEqual(superjson.serialize(deep));
    expect(roundTrip(deep)).toStrictEqual(deep);
    class Day extends Date {}
    const withDay = { day: new Day(3) };
    expect(serializeOutput(withDay)).toEqual(superjson.serialize(withDay));
  });

  it('what it does not handle goes to superjson whole: Maps, Sets, BigInts, NaN, -0, class instances, cycles, roots that are no object', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    class Point {
      constructor(public x = 1) {}
    }
    for (const v of [
      { m: new Map([[1, 2]]) },
      [new Set([1])],
      { n: 10n },
      { x: Number.NaN },
      { z: -0 },
      { p: new Point() },
      cyclic,
      new Date(5),
      'text',
      undefined,
    ]) {
      expect(serializeOutput(v)).toEqual(superjson.serialize(v));
    }
    // Keys superjson refuses are refused the same way (its error).
    for (const k of FORBIDDEN) expect(() => serializeOutput(JSON.parse(`{"a":{"${k}":1}}`))).toThrow(/prototype pollution/);
  });
});
