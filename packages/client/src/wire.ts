import superjson from 'superjson';

/**
 * The wire format, superjson, with the answers decoded in place: what tRPC
 * hands the transformer is a fresh JSON.parse result that nothing else holds,
 * so superjson's defensive copy of it (copy-anything, a second walk and a
 * second tree per answer) is skipped.
 */
export const wireTransformer = {
  serialize: (value: unknown) => superjson.serialize(value),
  deserialize: (payload: unknown) => superjson.deserialize(payload as Parameters<typeof superjson.deserialize>[0], { inPlace: true }),
};
