import { useQuery } from '@tanstack/react-query';
import { api, must, setCsrfToken } from '../api/client';
import type { ClientSession } from './types';

export const SESSION_KEY = ['session', 'client'] as const;

/** The client area's session (null: signed out); its CSRF token goes with every change. */
export function useClientSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async (): Promise<ClientSession | null> => {
      const state = await must(api.GET('/client/v1/session'));
      const session = state.signed_in ? state : null;
      setCsrfToken(session?.csrf_token);
      return session;
    },
    staleTime: 60_000,
  });
}
