/**
 * Downloads on web: fetch with the Authorization header (and a Range to resume), the body kept
 * in IndexedDB as chunks keyed by [download id, byte offset], so a pause keeps what arrived and
 * a resume appends. A finished download plays from a blob: URL made of its chunks: no network.
 */
import type { ApiClient } from '../api/client';
import type { DownloadBackend, Transfer, TransferEvents } from './manager';
import { acceptResponse, requestHeaders, resumeOffset, type Download } from './state';

const DB_NAME = 'reelbox-downloads';
const LIST = 'downloads';
const CHUNKS = 'chunks';
const LIST_KEY = 'list';
/** Bytes gathered before one write: fewer, larger records. */
const CHUNK_BYTES = 1 << 19;

interface ChunkRecord {
  id: string;
  offset: number;
  data: Blob;
}

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('aborted'));
  });
}

let opened: Promise<IDBDatabase> | null = null;

function database(): Promise<IDBDatabase> {
  if (!opened) {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore(LIST);
      db.createObjectStore(CHUNKS, { keyPath: ['id', 'offset'] });
    };
    opened = promised(request);
  }
  return opened;
}

function chunkRange(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);
}

async function removeChunks(id: string): Promise<void> {
  const db = await database();
  const tx = db.transaction(CHUNKS, 'readwrite');
  tx.objectStore(CHUNKS).delete(chunkRange(id));
  await finished(tx);
}

async function putChunk(record: ChunkRecord): Promise<void> {
  const db = await database();
  const tx = db.transaction(CHUNKS, 'readwrite');
  tx.objectStore(CHUNKS).put(record);
  await finished(tx);
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

export function createBackend(api: ApiClient): DownloadBackend {
  const urls = new Map<string, string>();
  return {
    async load() {
      const db = await database();
      const list = await promised(db.transaction(LIST).objectStore(LIST).get(LIST_KEY));
      return Array.isArray(list) ? (list as Download[]) : [];
    },

    async save(downloads) {
      const db = await database();
      const tx = db.transaction(LIST, 'readwrite');
      tx.objectStore(LIST).put(downloads, LIST_KEY);
      await finished(tx);
    },

    start(download, events) {
      return startTransfer(api, download, events);
    },

    async remove(id) {
      const url = urls.get(id);
      if (url) URL.revokeObjectURL(url);
      urls.delete(id);
      await removeChunks(id);
    },

    async source(download) {
      const known = urls.get(download.id);
      if (known) return known;
      const db = await database();
      const records = (await promised(
        db.transaction(CHUNKS).objectStore(CHUNKS).getAll(chunkRange(download.id)),
      )) as ChunkRecord[];
      if (!records.length) throw new Error('The downloaded file is missing');
      records.sort((a, b) => a.offset - b.offset);
      const url = URL.createObjectURL(new Blob(records.map((r) => r.data), { type: 'video/mp4' }));
      urls.set(download.id, url);
      return url;
    },
  };
}

function startTransfer(api: ApiClient, download: Download, events: TransferEvents): Transfer {
  const controller = new AbortController();
  let stopping: 'pause' | 'cancel' | null = null;
  let kept = resumeOffset(download);
  const run = (async () => {
    let offset = kept;
    try {
      if (offset === 0) await removeChunks(download.id);
      const response = await api.fetchRaw(
        api.downloadPath(download.itemId, download.quality),
        controller.signal,
        requestHeaders(offset),
        [429, 503, 404, 416],
      );
      const accepted = acceptResponse(offset, response.status, (name) => response.headers.get(name), download.total);
      if (accepted.kind === 'restart' && offset > 0) {
        await removeChunks(download.id);
        offset = 0;
        kept = 0;
      }
      if (stopping) return;
      events.response(accepted);
      if (accepted.kind === 'busy' || accepted.kind === 'fail') return;
      if (!response.body) throw new Error('The response has no body');
      const reader = response.body.getReader();
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (!pendingBytes) return;
        const data = new Blob(pending as BlobPart[]);
        const at = offset;
        offset += pendingBytes;
        pending = [];
        pendingBytes = 0;
        await putChunk({ id: download.id, offset: at, data });
        kept = offset;
      };
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          pending.push(value);
          pendingBytes += value.byteLength;
          if (pendingBytes >= CHUNK_BYTES) {
            await flush();
            if (!stopping) events.progress(kept);
          }
        }
      } catch (error) {
        // A pause aborts the body: keep what arrived.
        if (stopping === 'pause' && isAbort(error)) await flush();
        throw error;
      }
      await flush();
      if (!stopping) events.done(kept);
    } catch (error) {
      if (stopping || isAbort(error)) return;
      events.failed(error instanceof Error ? error.message : String(error));
    }
  })();
  return {
    async pause() {
      stopping = 'pause';
      controller.abort();
      await run;
      return kept;
    },
    async cancel() {
      stopping = 'cancel';
      controller.abort();
      await run;
    },
  };
}
