import { apiTokenRouter } from './router/api-token.ts';
import { chatRouter } from './router/chat.ts';
import { contextRouter } from './router/context.ts';
import { eventsRouter } from './router/events.ts';
import { runRouter } from './router/run.ts';
import { systemRouter } from './router/system.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  context: contextRouter,
  chat: chatRouter,
  run: runRouter,
  events: eventsRouter,
  system: systemRouter,
  apiToken: apiTokenRouter,
});

export type AppRouter = typeof appRouter;
