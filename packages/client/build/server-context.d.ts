/** The server's request context (its services, the request): never part of what a client sees. */
export interface TRPCContext {
  readonly __server: never;
}
