/** Home: continue watching, next up, recently added, and a few genres. */
import { View } from 'react-native';

import { useGenres, useHome, useItems } from '../src/api/hooks';
import type { Genre } from '../src/api/types';
import { Row } from '../src/components/Row';
import { Screen } from '../src/components/Screen';
import { ErrorView, Loading, T } from '../src/components/ui';
import { spacing, useTheme } from '../src/theme';

const GENRE_ROWS = 4;

function GenreRow({ genre }: { genre: Genre }) {
  const items = useItems({ genre: [genre.id], sort: 'added', order: 'desc', limit: 20 });
  const first = items.data?.pages[0]?.items ?? [];
  return <Row title={genre.name} items={first} />;
}

export default function HomeScreen() {
  const home = useHome();
  const genres = useGenres();
  const { gutter } = useTheme();
  const top = [...(genres.data?.genres ?? [])].sort((a, b) => b.count - a.count).slice(0, GENRE_ROWS);

  return (
    <Screen>
      {home.isPending ? <Loading /> : null}
      {home.error ? <ErrorView error={home.error} onRetry={() => void home.refetch()} /> : null}
      {home.data ? (
        <View style={{ gap: spacing.xl }}>
          <Row title="Continue watching" items={home.data.continue_watching} wide />
          <Row title="Next up" items={home.data.next_up} wide />
          <Row title="Recently added" items={home.data.recently_added} />
          {top.map((g) => (
            <GenreRow key={g.id} genre={g} />
          ))}
          {home.data.recently_added.length === 0 && home.data.continue_watching.length === 0 ? (
            <T muted style={{ paddingHorizontal: gutter }}>
              Nothing here yet: once a library you can see has been scanned, its newest items show up
              here. New accounts see no library until an admin grants them one.
            </T>
          ) : null}
        </View>
      ) : null}
    </Screen>
  );
}
