/**
 * /api/trpc: hands the request to the tRPC handler that the server process
 * created once with its services (see apps/web/server.ts).
 */
type Handler = (request: Request) => Promise<Response>;

export const dynamic = 'force-dynamic';

function handler(request: Request): Promise<Response> | Response {
  const trpc = (globalThis as { __chatTrpcHandler?: Handler }).__chatTrpcHandler;
  if (!trpc) return new Response('services not started: run the app with `npm start`', { status: 503 });
  return trpc(request);
}

export { handler as GET, handler as POST };
