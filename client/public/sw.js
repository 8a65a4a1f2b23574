/*
 * Reelbox's offline shell: the app's page and bundles are fetched from the network first and
 * kept; with no network they come from what was kept, and any page of the app gets index.html
 * (the app routes in the browser). The API and streams never go through here.
 */
const CACHE = 'reelbox-shell-v1';
const SERVER = /^\/(api|stream|metrics|healthz|readyz)(\/|$)/;

// The page and the bundles it names: the page that registered this worker loaded them before
// the worker could see it.
async function keepShell() {
  const cache = await caches.open(CACHE);
  const page = await fetch('/', { cache: 'no-cache' });
  if (!page.ok) return;
  const html = await page.clone().text();
  await cache.put('/', page);
  const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
  await Promise.all(assets.map((path) => cache.add(path).catch(() => undefined)));
}

self.addEventListener('install', (event) => {
  self.skipWaiting();
  event.waitUntil(keepShell().catch(() => undefined));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || SERVER.test(url.pathname)) return;
  const page = request.mode === 'navigate';
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(page ? '/' : request, copy));
        }
        return response;
      })
      .catch(async () => {
        const cache = await caches.open(CACHE);
        const kept = await cache.match(page ? '/' : request);
        return kept || Response.error();
      }),
  );
});
