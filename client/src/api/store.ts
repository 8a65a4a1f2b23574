/** Native: the session lives in the keychain (iOS) or the keystore (Android). */
import * as SecureStore from 'expo-secure-store';

import type { SessionStore, StoredSession } from './client';

const SESSION_KEY = 'reelbox.session';
const SERVER_KEY = 'reelbox.server';

export const sessionStore: SessionStore = {
  async load() {
    const text = await SecureStore.getItemAsync(SESSION_KEY);
    if (!text) return null;
    try {
      return JSON.parse(text) as StoredSession;
    } catch {
      return null;
    }
  },
  async save(session) {
    if (session) {
      await SecureStore.setItemAsync(SESSION_KEY, JSON.stringify(session));
      await SecureStore.setItemAsync(SERVER_KEY, session.server);
    } else {
      await SecureStore.deleteItemAsync(SESSION_KEY);
    }
  },
};

/** The last server address typed, kept after logout so the login screen can offer it. */
export async function lastServer(): Promise<string | null> {
  return SecureStore.getItemAsync(SERVER_KEY);
}

/** A native app has no origin: the user types the server's address. */
export function defaultServer(): string | null {
  return null;
}
