/*
 * Reelbox's offline shell: the app's page and bundles are fetched from the network first and
 * kept; with no network they come from what was kept, and any page of the app gets index.html
 * (the app routes in the browser). The API and streams never go through here.
 */
const CACHE = 'reelbox-shell-v1';
const SERVER = /^\/(api|stream|metrics|healthz|readyz)(\/|$)/;

// The page, the bundles it names and the route chunks those load on demand (a screen first
// opened offline needs its chunk): the page that registered this worker loaded its bundles
// before the worker could see them, and a new build brings new names, so every page fetched
// from the network is kept this way.
const CHUNK = /"(\/_expo\/static\/js\/[^"]+\.js)"/g;

async function keepShell(page) {
  const cache = await caches.open(CACHE);
  const html = await page.clone().text();
  await cache.put('/', page);
  const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
  const chunks = new Set();
  await Promise.all(
    assets.map(async (path) => {
      // Expo names bundles by their content: one already kept is the same file.
      const kept = await cache.match(path);
      const response = kept || (await fetch(path).catch(() => null));
      if (!response || !response.ok) return;
      if (path.endsWith('.js')) for (const m of (await response.clone().text()).matchAll(CHUNK)) chunks.add(m[1]);
      if (!kept) await cache.put(path, response);
    }),
  );
  await Promise.all([...chunks].map((path) => cache.match(path).then((kept) => kept || cache.add(path)).catch(() => undefined)));
}

self.addEventListener('install', (event) => {
  self.skipWaiting();
  // API and stream requests skip this worker entirely (Chromium's static routing): a page's
  // last progress report, sent with keepalive as it unloads, was lost when it went through here.
  if (event.addRoutes && typeof URLPattern === 'function') {
    event.addRoutes(
      ['/api/*', '/stream/*'].map((pathname) => ({ condition: { urlPattern: new URLPattern({ pathname }) }, source: 'network' })),
    );
  }
  event.waitUntil(
    fetch('/', { cache: 'no-cache' })
      .then((page) => (page.ok ? keepShell(page) : undefined))
      .catch(() => undefined),
  );
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
          const kept = page ? keepShell(copy) : caches.open(CACHE).then((cache) => cache.put(request, copy));
          event.waitUntil(kept.catch(() => undefined));
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
