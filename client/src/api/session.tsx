/**
 * The app's API client and login state, shared through React context. The client is made
 * once; the server address can change before login (a native app asks for it).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Platform } from 'react-native';
import { useQueryClient } from '@tanstack/react-query';

import { ApiClient, normalizeServer } from './client';
import type { TokenResponse } from './types';
import { defaultServer, lastServer, sessionStore } from './store';

export type SessionStatus = 'restoring' | 'anonymous' | 'authenticated';

interface SessionValue {
  client: ApiClient;
  status: SessionStatus;
  /** The server the client talks to (the page's origin on web until changed). */
  server: string;
  setServer(address: string): void;
  login(username: string, password: string): Promise<TokenResponse>;
  /** Adopt tokens that an OIDC redirect brought back. */
  adopt(tokens: { access_token: string; refresh_token: string; expires_at: string | null }): Promise<void>;
  logout(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<SessionStatus>('restoring');
  const client = useMemo(
    () =>
      new ApiClient({
        server: defaultServer() ?? '',
        store: sessionStore,
        device: `Reelbox ${Platform.OS}${Platform.isTV ? ' TV' : ''}`,
      }),
    [],
  );
  const [server, setServerState] = useState(client.server);

  useEffect(() => {
    client.onSessionEnded = () => {
      queryClient.clear();
      setStatus('anonymous');
    };
    let cancelled = false;
    (async () => {
      const restored = await client.restore();
      if (!restored) {
        const last = await lastServer();
        if (last && !defaultServer()) client.server = last;
      }
      if (cancelled) return;
      setServerState(client.server);
      setStatus(restored ? 'authenticated' : 'anonymous');
    })();
    return () => {
      cancelled = true;
    };
  }, [client, queryClient]);

  const setServer = useCallback(
    (address: string) => {
      client.server = normalizeServer(address);
      setServerState(client.server);
    },
    [client],
  );

  const login = useCallback(
    async (username: string, password: string) => {
      const tokens = await client.login(username, password);
      setStatus('authenticated');
      return tokens;
    },
    [client],
  );

  const adopt = useCallback(
    async (tokens: { access_token: string; refresh_token: string; expires_at: string | null }) => {
      await client.adopt(tokens);
      setStatus('authenticated');
    },
    [client],
  );

  const logout = useCallback(async () => {
    await client.logout();
    queryClient.clear();
    setStatus('anonymous');
  }, [client, queryClient]);

  const value = useMemo(
    () => ({ client, status, server, setServer, login, adopt, logout }),
    [client, status, server, setServer, login, adopt, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside <SessionProvider>');
  return value;
}

export function useApi(): ApiClient {
  return useSession().client;
}
