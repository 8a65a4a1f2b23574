/**
 * Downloads on iOS, Android and TV: expo-file-system's resumable downloads into
 * `<documents>/downloads/<id>.mp4`. A pause keeps the native resume data (a Range from the bytes
 * written, or iOS's resume blob) in `<id>.resume.json`, so a resume goes on from there even
 * after the app restarts; the list itself is `index.json`. A finished download plays from its
 * file: URI. (Type-checked and unit-tested with a mocked module here; it runs on devices.)
 */
import * as FileSystem from 'expo-file-system/legacy';

import type { ApiClient } from '../api/client';
import type { DownloadBackend, Transfer, TransferEvents } from './manager';
import { acceptResponse, resumeOffset, type Accepted, type Download } from './state';

function folder(): string {
  return `${FileSystem.documentDirectory ?? ''}downloads/`;
}

export function fileUri(id: string): string {
  return `${folder()}${encodeURIComponent(id)}.mp4`;
}

function resumeUri(id: string): string {
  return `${folder()}${encodeURIComponent(id)}.resume.json`;
}

async function ensureFolder(): Promise<void> {
  const info = await FileSystem.getInfoAsync(folder());
  if (!info.exists) await FileSystem.makeDirectoryAsync(folder(), { intermediates: true });
}

async function readResumeData(id: string): Promise<string | undefined> {
  try {
    const saved = JSON.parse(await FileSystem.readAsStringAsync(resumeUri(id))) as { resumeData?: string };
    return saved.resumeData;
  } catch {
    return undefined;
  }
}

export function createBackend(api: ApiClient): DownloadBackend {
  return {
    async load() {
      try {
        const text = await FileSystem.readAsStringAsync(`${folder()}index.json`);
        const list = JSON.parse(text) as unknown;
        return Array.isArray(list) ? (list as Download[]) : [];
      } catch {
        return [];
      }
    },
    async save(downloads) {
      await ensureFolder();
      await FileSystem.writeAsStringAsync(`${folder()}index.json`, JSON.stringify(downloads));
    },
    start(download, events) {
      return startTransfer(api, download, events);
    },
    async remove(id) {
      await FileSystem.deleteAsync(fileUri(id), { idempotent: true });
      await FileSystem.deleteAsync(resumeUri(id), { idempotent: true });
    },
    async source(download) {
      return fileUri(download.id);
    },
  };
}

function startTransfer(api: ApiClient, download: Download, events: TransferEvents): Transfer {
  let stopping = false;
  let kept = resumeOffset(download);
  let task: FileSystem.DownloadResumable | null = null;
  const run = (async () => {
    try {
      await ensureFolder();
      const resumeData = kept > 0 ? await readResumeData(download.id) : undefined;
      if (!resumeData) {
        kept = 0;
        await FileSystem.deleteAsync(fileUri(download.id), { idempotent: true });
      }
      if (stopping) return;
      task = FileSystem.createDownloadResumable(
        api.url(api.downloadPath(download.itemId, download.quality)),
        fileUri(download.id),
        { headers: api.authHeaders() },
        ({ totalBytesWritten }) => {
          kept = totalBytesWritten;
          if (!stopping) events.progress(totalBytesWritten);
        },
        resumeData,
      );
      const result = resumeData ? await task.resumeAsync() : await task.downloadAsync();
      if (stopping || !result) return; // paused or cancelled
      const header = (name: string) => {
        const key = Object.keys(result.headers).find((k) => k.toLowerCase() === name);
        return key ? (result.headers[key] ?? null) : null;
      };
      // The native side sends the Range and appends itself: a 200 or 206 is the whole file.
      const ok = result.status === 200 || result.status === 206;
      const accepted: Accepted = ok
        ? { kind: 'append', total: null, exact: true, resumable: true }
        : acceptResponse(0, result.status, header, download.total);
      events.response(accepted);
      if (accepted.kind === 'busy' || accepted.kind === 'fail') {
        await FileSystem.deleteAsync(fileUri(download.id), { idempotent: true });
        return;
      }
      await FileSystem.deleteAsync(resumeUri(download.id), { idempotent: true });
      const info = await FileSystem.getInfoAsync(fileUri(download.id));
      events.done(info.exists ? info.size : kept);
    } catch (error) {
      if (!stopping) events.failed(error instanceof Error ? error.message : String(error));
    }
  })();
  return {
    async pause() {
      stopping = true;
      if (task) {
        const state = await task.pauseAsync();
        await FileSystem.writeAsStringAsync(resumeUri(download.id), JSON.stringify({ resumeData: state.resumeData }));
      }
      await run;
      return kept;
    },
    async cancel() {
      stopping = true;
      if (task) await task.cancelAsync();
      await run;
    },
  };
}
