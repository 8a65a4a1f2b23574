/**
 * A server playback session for the screen's lifetime: started for the item with this device's
 * profile, progress reported through `ProgressReporter`, and closed once the final report is in
 * when the player goes away. When the page itself goes away (a reload, a closed tab), the final
 * report goes with `keepalive` and the session is closed by the tab's next page (./leftovers).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Platform } from 'react-native';

import { useApi } from '../api/session';
import type { PlaybackSession } from '../api/types';
import { noteLeftSession, takeLeftSessions } from './leftovers';
import { deviceProfile } from './profile';
import { ProgressReporter } from './progress';

export interface Playback {
  session: PlaybackSession | null;
  /** The master playlist's absolute URL (with the stream token). */
  url: string | null;
  error: unknown;
  reporter: ProgressReporter | null;
  /** Ask for a new session (after a fatal error). */
  retry(): void;
}

export function usePlayback(itemId: number, positionRef: React.RefObject<number>): Playback {
  const api = useApi();
  const [session, setSession] = useState<PlaybackSession | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const reporterRef = useRef<ProgressReporter | null>(null);

  useEffect(() => {
    let cancelled = false;
    let started: PlaybackSession | null = null;
    setSession(null);
    setError(null);
    const ua = typeof navigator !== 'undefined' ? (navigator.userAgent ?? '') : '';
    for (const id of takeLeftSessions()) void api.stopPlayback(id).catch(() => undefined);
    api
      .startPlayback({ item_id: itemId, profile: deviceProfile(Platform.OS, Platform.isTV, ua) })
      .then((s) => {
        started = s;
        if (cancelled) {
          void api.stopPlayback(s.session_id, true).catch(() => undefined);
          return;
        }
        reporterRef.current = new ProgressReporter((r, final) =>
          api.reportProgress(s.session_id, r.positionUs, r.paused, final),
        );
        setSession(s);
      })
      .catch((e: unknown) => {
        if (!cancelled) setError(e);
      });

    const leave = (unloading: boolean) => {
      if (!started) return;
      const id = started.session_id;
      started = null;
      const reported = reporterRef.current?.final(positionRef.current ?? 0) ?? Promise.resolve();
      if (unloading) noteLeftSession(id);
      else void reported.then(() => api.stopPlayback(id, true)).catch(() => undefined);
    };
    const onPageHide = () => leave(true);
    if (Platform.OS === 'web' && typeof window !== 'undefined') window.addEventListener('pagehide', onPageHide);
    return () => {
      cancelled = true;
      if (Platform.OS === 'web' && typeof window !== 'undefined') window.removeEventListener('pagehide', onPageHide);
      leave(false);
      reporterRef.current = null;
    };
  }, [api, itemId, attempt, positionRef]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return {
    session,
    url: session ? api.url(session.master_url) : null,
    error,
    reporter: reporterRef.current,
    retry,
  };
}
