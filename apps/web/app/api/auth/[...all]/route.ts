/**
 * /api/auth/*: hands the request to the better-auth handler that the server
 * process created once with its services (see apps/web/server.ts), the same
 * way /api/trpc reaches the tRPC handler.
 */
type Handler = (request: Request) => Promise<Response>;

export const dynamic = 'force-dynamic';

function handler(request: Request): Promise<Response> | Response {
  const auth = (globalThis as { __chatAuthHandler?: Handler }).__chatAuthHandler;
  if (!auth) return new Response('services not started: run the app with `npm start`', { status: 503 });
  return auth(request);
}

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE, handler as OPTIONS };
