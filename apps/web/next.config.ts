import type { NextConfig } from 'next';

/**
 * Next config of the web app. The app runs inside the custom server
 * (apps/web/server.ts), which owns the backend services.
 */
const nextConfig: NextConfig = {
  // The tRPC subscription is Server-Sent Events through the /api/trpc route
  // handler: gzip would buffer it and the reply would not stream token by token.
  compress: false,
  // Workspace packages ship TypeScript sources (`.ts` imports).
  transpilePackages: ['@chat/api', '@chat/core'],
  // Type checking is its own task (`npm run typecheck -w @chat/web`, turbo
  // `typecheck`), so `next build` never fails on another package's work in
  // progress and needs nothing from the network. (Next 16 has no `eslint`
  // option and does not lint during builds.)
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
