/**
 * A server playback session for the screen's lifetime: started for the item with this device's
 * profile, progress reported through `ProgressReporter`, and closed (after a final report) when
 * the player goes away, with `keepalive` so that closing a browser tab still reaches the server.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Platform } from 'react-native';

import { useApi } from '../api/session';
import type { PlaybackSession } from '../api/types';
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

    const leave = () => {
      if (!started) return;
      reporterRef.current?.final(positionRef.current ?? 0);
      void api.stopPlayback(started.session_id, true).catch(() => undefined);
      started = null;
    };
    const onPageHide = () => leave();
    if (Platform.OS === 'web' && typeof window !== 'undefined') window.addEventListener('pagehide', onPageHide);
    return () => {
      cancelled = true;
      if (Platform.OS === 'web' && typeof window !== 'undefined') window.removeEventListener('pagehide', onPageHide);
      leave();
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
