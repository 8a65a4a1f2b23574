/** react-query hooks over the API client: one query key family per resource. */
import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from '@tanstack/react-query';

import { ApiError } from './client';
import { useApi, useSession } from './session';
import type { ItemsQuery, UserState } from './types';

export const keys = {
  me: ['me'] as const,
  home: ['home'] as const,
  items: (q: ItemsQuery) => ['items', q] as const,
  item: (id: number) => ['item', id] as const,
  series: (id: number) => ['series', id] as const,
  season: (id: number) => ['season', id] as const,
  search: (q: string) => ['search', q] as const,
  genres: (libraryId?: number) => ['genres', libraryId ?? null] as const,
  years: (libraryId?: number) => ['years', libraryId ?? null] as const,
  libraries: ['libraries'] as const,
  providers: (server: string) => ['oidc-providers', server] as const,
};

/** Retry network trouble and 5xx a little; never 4xx (they will not change by retrying). */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

function useAuthed(): boolean {
  return useSession().status === 'authenticated';
}

export function useMe() {
  const api = useApi();
  return useQuery({ queryKey: keys.me, queryFn: () => api.me(), enabled: useAuthed() });
}

export function useHome() {
  const api = useApi();
  return useQuery({
    queryKey: keys.home,
    queryFn: ({ signal }) => api.home(20, signal),
    enabled: useAuthed(),
  });
}

export const PAGE_SIZE = 60;

export function useItems(query: ItemsQuery) {
  const api = useApi();
  return useInfiniteQuery({
    queryKey: keys.items(query),
    queryFn: ({ pageParam, signal }) =>
      api.items({ limit: PAGE_SIZE, ...query, ...(pageParam ? { cursor: pageParam } : {}) }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
    enabled: useAuthed(),
  });
}

export function useItem(id: number) {
  const api = useApi();
  return useQuery({ queryKey: keys.item(id), queryFn: () => api.item(id), enabled: useAuthed() && id > 0 });
}

export function useSeries(id: number | null | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: keys.series(id ?? 0),
    queryFn: () => api.series(id ?? 0),
    enabled: useAuthed() && !!id,
  });
}

export function useSeason(id: number | null | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: keys.season(id ?? 0),
    queryFn: () => api.season(id ?? 0),
    enabled: useAuthed() && !!id,
  });
}

export function useSearch(q: string) {
  const api = useApi();
  const text = q.trim();
  return useQuery({
    queryKey: keys.search(text),
    queryFn: ({ signal }) => api.search(text, 30, signal),
    enabled: useAuthed() && text.length > 0,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

export function useGenres(libraryId?: number) {
  const api = useApi();
  return useQuery({
    queryKey: keys.genres(libraryId),
    queryFn: () => api.genres(libraryId ? { library_id: libraryId } : {}),
    enabled: useAuthed(),
    staleTime: 5 * 60_000,
  });
}

export function useYears(libraryId?: number) {
  const api = useApi();
  return useQuery({
    queryKey: keys.years(libraryId),
    queryFn: () => api.years(libraryId ? { library_id: libraryId } : {}),
    enabled: useAuthed(),
    staleTime: 5 * 60_000,
  });
}

export function useLibraries() {
  const api = useApi();
  return useQuery({
    queryKey: keys.libraries,
    queryFn: () => api.libraries(),
    enabled: useAuthed(),
    staleTime: 5 * 60_000,
  });
}

export function useOidcProviders() {
  const { client, server } = useSession();
  return useQuery({
    queryKey: keys.providers(server),
    queryFn: () => client.oidcProviders(),
    enabled: server.length > 0,
    retry: false,
  });
}

/** Played / favourite toggles: the item's cached user data follows the answer. */
export function useUserDataMutation(id: number) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (change: { played?: boolean; favorite?: boolean }): Promise<UserState> =>
      change.played !== undefined
        ? api.setPlayed(id, change.played)
        : api.setFavorite(id, change.favorite ?? false),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.item(id) });
      void queryClient.invalidateQueries({ queryKey: keys.home });
      void queryClient.invalidateQueries({ queryKey: ['items'] });
      void queryClient.invalidateQueries({ queryKey: ['season'] });
    },
  });
}
