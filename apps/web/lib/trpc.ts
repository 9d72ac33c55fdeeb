'use client';

import type { AppRouter } from '@chat/api';
import { createTRPCContext } from '@trpc/tanstack-react-query';

/** The typed tRPC hooks of the app: `useTRPC()` gives query/mutation/subscription options. */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();
