/**
 * The library grid: filters (library, type, genre, year, unwatched, favourites), sort, and a
 * title filter that narrows the grid as you type.
 */
import { useLocalSearchParams } from 'expo-router';
import { useEffect, useMemo, useState } from 'react';
import { ScrollView, View } from 'react-native';

import { useGenres, useItems, useLibraries, useYears } from '../src/api/hooks';
import type { ItemType, ItemsQuery, SortName } from '../src/api/types';
import { Grid } from '../src/components/Grid';
import { Screen } from '../src/components/Screen';
import { Chip, ErrorView, Loading, T, TextField } from '../src/components/ui';
import { spacing } from '../src/theme';
import { useDebounced } from '../src/components/useDebounced';

const TYPES: { value: ItemType; label: string }[] = [
  { value: 'movie', label: 'Movies' },
  { value: 'episode', label: 'Episodes' },
  { value: 'video', label: 'Videos' },
  { value: 'track', label: 'Music' },
  { value: 'photo', label: 'Photos' },
];

const SORTS: { value: SortName; label: string; order: 'asc' | 'desc' }[] = [
  { value: 'title', label: 'Title', order: 'asc' },
  { value: 'added', label: 'Date added', order: 'desc' },
  { value: 'year', label: 'Year', order: 'desc' },
  { value: 'rating', label: 'Rating', order: 'desc' },
];

function toggle<T>(list: T[], value: T): T[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

function FilterRow({ label, children, single }: { label: string; children: React.ReactNode; single?: boolean }) {
  return (
    <View style={{ gap: spacing.xs }} role={single ? 'radiogroup' : 'group'} aria-label={label}>
      <T kind="caption" muted>
        {label}
      </T>
      <ScrollView horizontal showsHorizontalScrollIndicator={false} contentContainerStyle={{ gap: spacing.sm, padding: 3 }}>
        {children}
      </ScrollView>
    </View>
  );
}

export default function LibraryScreen() {
  const params = useLocalSearchParams<{ library?: string; genre?: string; type?: string }>();
  const [libraryId, setLibraryId] = useState<number | undefined>(params.library ? Number(params.library) : undefined);
  const [types, setTypes] = useState<ItemType[]>(params.type ? [params.type as ItemType] : []);
  const [genres, setGenres] = useState<number[]>(params.genre ? [Number(params.genre)] : []);
  const [year, setYear] = useState<number | undefined>();
  const [unwatched, setUnwatched] = useState(false);
  const [favorite, setFavorite] = useState(false);
  const [sort, setSort] = useState<SortName>('title');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const [text, setText] = useState('');
  const search = useDebounced(text.trim(), 250);

  const query = useMemo<ItemsQuery>(
    () => ({
      ...(libraryId ? { library_id: libraryId } : {}),
      ...(types.length ? { type: types } : {}),
      ...(genres.length ? { genre: genres } : {}),
      ...(year ? { year } : {}),
      ...(unwatched ? { unwatched } : {}),
      ...(favorite ? { favorite } : {}),
      ...(search ? { search } : {}),
      sort,
      order,
    }),
    [libraryId, types, genres, year, unwatched, favorite, search, sort, order],
  );

  const items = useItems(query);
  const libraries = useLibraries();
  const genreList = useGenres(libraryId);
  const years = useYears(libraryId);
  useEffect(() => setGenres((g) => g.filter((id) => genreList.data?.genres.some((x) => x.id === id) ?? true)), [genreList.data]);

  const all = items.data?.pages.flatMap((p) => p.items) ?? [];
  const header = (
    <View style={{ gap: spacing.md, paddingHorizontal: 3, paddingBottom: spacing.lg }}>
      <TextField
        label="Filter by title"
        value={text}
        onChangeText={setText}
        placeholder="Type to filter"
        autoCorrect={false}
        autoCapitalize="none"
        returnKeyType="search"
        inputMode="search"
      />
      {(libraries.data?.libraries.length ?? 0) > 1 ? (
        <FilterRow label="Library" single>
          <Chip radio label="All" selected={!libraryId} onPress={() => setLibraryId(undefined)} />
          {libraries.data?.libraries.map((l) => (
            <Chip radio key={l.id} label={l.name} selected={libraryId === l.id} onPress={() => setLibraryId(l.id)} />
          ))}
        </FilterRow>
      ) : null}
      <FilterRow label="Show">
        {TYPES.map((t) => (
          <Chip key={t.value} label={t.label} selected={types.includes(t.value)} onPress={() => setTypes((v) => toggle(v, t.value))} />
        ))}
        <Chip label="Unwatched" selected={unwatched} onPress={() => setUnwatched((v) => !v)} />
        <Chip label="Favourites" selected={favorite} onPress={() => setFavorite((v) => !v)} />
      </FilterRow>
      {genreList.data && genreList.data.genres.length > 0 ? (
        <FilterRow label="Genre">
          {genreList.data.genres.map((g) => (
            <Chip
              key={g.id}
              label={g.name}
              accessibilityLabel={`${g.name}, ${g.count} items`}
              selected={genres.includes(g.id)}
              onPress={() => setGenres((v) => toggle(v, g.id))}
            />
          ))}
        </FilterRow>
      ) : null}
      {years.data && years.data.years.length > 0 ? (
        <FilterRow label="Year" single>
          <Chip radio label="Any year" selected={!year} onPress={() => setYear(undefined)} />
          {years.data.years.map((y) => (
            <Chip radio key={y.year} label={String(y.year)} selected={year === y.year} onPress={() => setYear(year === y.year ? undefined : y.year)} />
          ))}
        </FilterRow>
      ) : null}
      <FilterRow label="Sort by" single>
        {SORTS.map((s) => (
          <Chip
            radio
            key={s.value}
            label={s.label}
            selected={sort === s.value}
            onPress={() => {
              setSort(s.value);
              setOrder(s.order);
            }}
          />
        ))}
        <Chip
          label={order === 'asc' ? 'Ascending ↑' : 'Descending ↓'}
          accessibilityLabel={order === 'asc' ? 'Ascending order' : 'Descending order'}
          selected={false}
          onPress={() => setOrder((o) => (o === 'asc' ? 'desc' : 'asc'))}
        />
      </FilterRow>
      {items.error ? <ErrorView error={items.error} onRetry={() => void items.refetch()} /> : null}
      {items.data && all.length === 0 ? <T muted>Nothing matches these filters.</T> : null}
    </View>
  );

  return (
    <Screen scroll={false}>
      <View style={{ flex: 1, paddingTop: spacing.sm }}>
        <View style={{ flex: 1 }}>
          <Grid
            items={all}
            header={header}
            footer={items.isFetching ? <Loading /> : null}
            onEndReached={() => {
              if (items.hasNextPage && !items.isFetchingNextPage) void items.fetchNextPage();
            }}
          />
        </View>
      </View>
    </Screen>
  );
}
