/** A series: its seasons (pick one) and that season's episodes. */
import { useLocalSearchParams } from 'expo-router';
import { useState } from 'react';
import { ScrollView, View } from 'react-native';

import { useSeason, useSeries } from '../../src/api/hooks';
import { AuthImage } from '../../src/components/AuthImage';
import { EpisodeList } from '../../src/components/EpisodeList';
import { Screen } from '../../src/components/Screen';
import { Chip, ErrorView, Loading, T } from '../../src/components/ui';
import { radius, spacing, useTheme } from '../../src/theme';

export default function SeriesScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const series = useSeries(Number(id));
  const { gutter, bp } = useTheme();
  const [picked, setPicked] = useState<number | null>(null);
  const seasons = series.data?.seasons ?? [];
  const firstUnwatched = seasons.find((s) => s.unplayed_count > 0) ?? seasons[0];
  const seasonId = picked ?? firstUnwatched?.id ?? null;
  const season = useSeason(seasonId);

  if (series.isPending) return <Screen><Loading /></Screen>;
  if (series.error || !series.data) return <Screen><ErrorView error={series.error ?? 'Not found'} onRetry={() => void series.refetch()} /></Screen>;
  const s = series.data;
  const backdrop = s.images.find((i) => i.kind === 'backdrop') ?? s.images.find((i) => i.kind === 'poster');
  const bannerWidth = bp === 'phone' ? 320 : 640;
  return (
    <Screen>
      <View style={{ paddingHorizontal: gutter, gap: spacing.lg }}>
        {backdrop ? (
          <AuthImage
            image={backdrop}
            width={bannerWidth}
            label={null}
            style={{ width: '100%', maxWidth: bannerWidth, aspectRatio: backdrop.kind === 'poster' ? 2 / 3 : 16 / 9, borderRadius: radius.lg }}
          />
        ) : null}
        <T kind="display" role="header">
          {s.title}
        </T>
        {s.year ? <T muted>{String(s.year)}</T> : null}
        <View role="radiogroup" aria-label="Seasons">
          <ScrollView horizontal showsHorizontalScrollIndicator={false} contentContainerStyle={{ gap: spacing.sm, padding: 3 }}>
            {seasons.map((x) => (
              <Chip
                radio
                key={x.id}
                label={x.title ?? `Season ${x.number}`}
                accessibilityLabel={`${x.title ?? `Season ${x.number}`}, ${x.episode_count} episodes, ${x.unplayed_count} unwatched`}
                selected={x.id === seasonId}
                onPress={() => setPicked(x.id)}
              />
            ))}
          </ScrollView>
        </View>
        {season.isPending && seasonId ? <Loading /> : null}
        {season.error ? <ErrorView error={season.error} /> : null}
        {season.data ? <EpisodeList episodes={season.data.episodes} /> : null}
      </View>
    </Screen>
  );
}
