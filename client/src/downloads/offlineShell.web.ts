/**
 * Web: a service worker (public/sw.js) keeps the app's page and bundles, so a reload with no
 * network still opens the app and its Downloads screen (the downloads themselves are in
 * IndexedDB). Browsers allow it on https and on localhost/127.0.0.1.
 */
export function registerOfflineShell(): void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').catch(() => undefined);
}
