/** Native: the app ships in the binary; nothing to cache for offline start. */
export function registerOfflineShell(): void {}
