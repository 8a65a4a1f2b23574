/**
 * Web: the session lives in localStorage (the page and the API share one origin when the server
 * serves the app, so nothing else can read it).
 */
import type { SessionStore, StoredSession } from './client';

const SESSION_KEY = 'reelbox.session';
const SERVER_KEY = 'reelbox.server';

function storage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null;
  } catch {
    return null; // storage disabled
  }
}

export const sessionStore: SessionStore = {
  async load() {
    const text = storage()?.getItem(SESSION_KEY);
    if (!text) return null;
    try {
      return JSON.parse(text) as StoredSession;
    } catch {
      return null;
    }
  },
  async save(session) {
    const s = storage();
    if (!s) return;
    if (session) {
      s.setItem(SESSION_KEY, JSON.stringify(session));
      s.setItem(SERVER_KEY, session.server);
    } else {
      s.removeItem(SESSION_KEY);
    }
  },
};

export async function lastServer(): Promise<string | null> {
  return storage()?.getItem(SERVER_KEY) ?? null;
}

/** The page's own origin: the server that served this app. */
export function defaultServer(): string | null {
  return typeof window !== 'undefined' ? window.location.origin : null;
}
