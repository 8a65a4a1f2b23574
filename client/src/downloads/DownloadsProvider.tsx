/** The download manager for the app (one per signed-in client) and its state as React state. */
import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';

import { useApi } from '../api/session';
import { createBackend } from './backend';
import { DownloadManager } from './manager';
import { initialDownloads, type DownloadsState } from './state';

const Context = createContext<DownloadManager | null>(null);

export function DownloadsProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const manager = useMemo(() => new DownloadManager(createBackend(api)), [api]);
  useEffect(() => {
    void manager.ready;
  }, [manager]);
  return <Context.Provider value={manager}>{children}</Context.Provider>;
}

export function useDownloadManager(): DownloadManager {
  const manager = useContext(Context);
  if (!manager) throw new Error('useDownloadManager outside <DownloadsProvider>');
  return manager;
}

/** The downloads, re-rendering on every change. */
export function useDownloads(): DownloadsState {
  const manager = useDownloadManager();
  return useSyncExternalStore(
    (listener) => manager.subscribe(listener),
    () => manager.state,
    () => initialDownloads,
  );
}
