'use client';

import { QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { AppShell } from '@/components/app-shell';
import { SessionProvider } from '@/components/session-provider';
import { makeQueryClient } from '@/lib/query-client';
import { TRPCProvider } from '@/lib/trpc';
import { makeTrpcClient } from '@/lib/trpc-client';

/**
 * React Query + tRPC for the whole app (one client of each per tab), and the
 * session: nothing that calls the API renders before the browser has one.
 */
export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(makeTrpcClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <SessionProvider>
          <AppShell>{children}</AppShell>
        </SessionProvider>
      </TRPCProvider>
    </QueryClientProvider>
  );
}
