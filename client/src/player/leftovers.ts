/**
 * Playback sessions a page left open as it went away (a reload, a closed tab). A page going
 * away can only send requests, not wait for them: a DELETE sent beside the last progress report
 * may reach the server first, and the session would close on an older position. So the page
 * sends the report alone and notes the session here (sessionStorage: this tab only); the next
 * page of the tab closes it, long after the report is in. A tab closed for good leaves the
 * session to the server's idle timeout.
 */
const KEY = 'reelbox.leftSessions';

function storage(): Storage | null {
  try {
    return typeof sessionStorage !== 'undefined' ? sessionStorage : null;
  } catch {
    return null; // storage disabled
  }
}

export function noteLeftSession(sessionId: string, s: Storage | null = storage()): void {
  if (!s) return;
  const ids = new Set(takeLeftSessions(s));
  ids.add(sessionId);
  s.setItem(KEY, JSON.stringify([...ids]));
}

/** The sessions earlier pages of this tab left open; each is returned once. */
export function takeLeftSessions(s: Storage | null = storage()): string[] {
  if (!s) return [];
  const text = s.getItem(KEY);
  s.removeItem(KEY);
  if (!text) return [];
  try {
    const ids: unknown = JSON.parse(text);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}
