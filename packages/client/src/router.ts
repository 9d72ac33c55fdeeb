/**
 * The server's router type, for the build only: `build.mjs` bundles the types
 * it reaches into dist/*.d.ts (with the server's request context stubbed out),
 * so the published package never imports server code, at run time or when a
 * user type-checks against it.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../api/src/root.ts';
import type { StreamItem } from '../../api/src/router/events.ts';

export type { AppRouter, StreamItem };
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
