/** The native backend over a mocked expo-file-system/legacy: what it asks the module to do. */
import { ApiClient, MemoryStore } from '../api/client';
import { createBackend, fileUri } from '../downloads/backend';
import type { TransferEvents } from '../downloads/manager';
import type { Download } from '../downloads/state';

const mockFiles = new Map<string, string>();
const mockTasks: { url: string; file: string; options: { headers?: Record<string, string> }; resumeData?: string; progress: (p: { totalBytesWritten: number; totalBytesExpectedToWrite: number }) => void; finish: (r: unknown) => void }[] = [];

jest.mock('expo-file-system/legacy', () => ({
  documentDirectory: 'file:///docs/',
  getInfoAsync: jest.fn(async (uri: string) => (mockFiles.has(uri) || uri.endsWith('/') ? { exists: true, size: 1234 } : { exists: false })),
  makeDirectoryAsync: jest.fn(async () => undefined),
  readAsStringAsync: jest.fn(async (uri: string) => {
    const text = mockFiles.get(uri);
    if (text === undefined) throw new Error('missing');
    return text;
  }),
  writeAsStringAsync: jest.fn(async (uri: string, text: string) => void mockFiles.set(uri, text)),
  deleteAsync: jest.fn(async (uri: string) => void mockFiles.delete(uri)),
  createDownloadResumable: jest.fn((url, file, options, progress, resumeData) => {
    let finish: (r: unknown) => void = () => undefined;
    const done = new Promise((resolve) => (finish = resolve));
    mockTasks.push({ url, file, options, resumeData, progress, finish });
    return {
      downloadAsync: () => done,
      resumeAsync: () => done,
      pauseAsync: async () => {
        finish(undefined);
        return { resumeData: 'RESUME' };
      },
      cancelAsync: async () => finish(undefined),
    };
  }),
}));

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function events() {
  const seen: string[] = [];
  const handlers: TransferEvents = {
    response: (a) => seen.push(`response:${a.kind}`),
    progress: (b) => seen.push(`progress:${b}`),
    done: (b) => seen.push(`done:${b}`),
    failed: (r) => seen.push(`failed:${r}`),
  };
  return { seen, handlers };
}

const download: Download = {
  id: '7-360p', itemId: 7, title: 'Night Signal', subtitle: null, quality: '360p', status: 'downloading',
  bytes: 0, total: 1000, exact: false, resumable: false, error: null, retryAt: null, addedAt: 0, finishedAt: null,
};

async function client() {
  const api = new ApiClient({ server: 'http://tv.local:8420', store: new MemoryStore() });
  await api.adopt({ access_token: 'AT', refresh_token: 'RT' });
  return api;
}

beforeEach(() => {
  mockFiles.clear();
  mockTasks.length = 0;
});

describe('native downloads (expo-file-system)', () => {
  it('downloads with the Authorization header into documents/downloads', async () => {
    const backend = createBackend(await client());
    const { seen, handlers } = events();
    backend.start(download, handlers);
    await flush();
    expect(mockTasks[0]).toMatchObject({
      url: 'http://tv.local:8420/api/items/7/download?quality=360p',
      file: 'file:///docs/downloads/7-360p.mp4',
      options: { headers: { Authorization: 'Bearer AT' } },
      resumeData: undefined,
    });
    mockTasks[0]!.progress({ totalBytesWritten: 500, totalBytesExpectedToWrite: -1 });
    mockTasks[0]!.finish({ status: 200, headers: {}, uri: fileUri('7-360p') });
    await flush();
    await flush();
    expect(seen).toEqual(['progress:500', 'response:append', 'done:500']);
    await expect(backend.source({ ...download, status: 'done' })).resolves.toBe('file:///docs/downloads/7-360p.mp4');
  });

  it('a pause saves the resume data; the next start resumes with it', async () => {
    const backend = createBackend(await client());
    const { handlers } = events();
    const transfer = backend.start(download, handlers);
    await flush();
    mockTasks[0]!.progress({ totalBytesWritten: 300, totalBytesExpectedToWrite: 1000 });
    await expect(transfer.pause()).resolves.toBe(300);
    expect(mockFiles.get('file:///docs/downloads/7-360p.resume.json')).toBe('{"resumeData":"RESUME"}');
    backend.start({ ...download, bytes: 300, resumable: true }, handlers);
    await flush();
    await flush();
    expect(mockTasks[1]!.resumeData).toBe('RESUME');
  });

  it('a busy server: the partial file goes and the manager is told', async () => {
    const backend = createBackend(await client());
    const { seen, handlers } = events();
    backend.start(download, handlers);
    await flush();
    mockTasks[0]!.finish({ status: 429, headers: { 'Retry-After': '3' }, uri: fileUri('7-360p') });
    await flush();
    await flush();
    expect(seen).toEqual(['response:busy']);
  });

  it('keeps the list in index.json', async () => {
    const backend = createBackend(await client());
    await backend.save([download]);
    await expect(backend.load()).resolves.toEqual([download]);
  });
});
