/** The player screen: what to play, where to start, and what comes next. */
import { useLocalSearchParams, useRouter } from 'expo-router';
import { useCallback, useMemo } from 'react';
import { View } from 'react-native';

import { useItem, useSeason, useSeries } from '../../src/api/hooks';
import { episodeCode } from '../../src/components/labels';
import { ErrorView, Loading } from '../../src/components/ui';
import { nextEpisode } from '../../src/player/episodes';
import { PlayerView } from '../../src/player/PlayerView';
import { resumePosition } from '../../src/player/state';
import { colors } from '../../src/theme';

export default function PlayScreen() {
  const { id, from } = useLocalSearchParams<{ id: string; from?: string }>();
  const itemId = Number(id);
  const router = useRouter();
  const detail = useItem(itemId);
  const item = detail.data?.item;
  const season = useSeason(item?.type === 'episode' ? item.season_id : null);
  const series = useSeries(item?.type === 'episode' ? item.series_id : null);
  const after = useMemo(
    () => (item && season.data ? nextEpisode(item, season.data.episodes, series.data?.seasons ?? []) : { kind: 'none' as const }),
    [item, season.data, series.data],
  );
  const nextSeason = useSeason(after.kind === 'season' ? after.seasonId : null);
  const nextItem = after.kind === 'episode' ? after.item : after.kind === 'season' ? nextSeason.data?.episodes[0] : undefined;

  const onExit = useCallback(() => {
    if (router.canGoBack()) router.back();
    else router.replace(`/item/${itemId}`);
  }, [router, itemId]);

  const next = useMemo(
    () =>
      nextItem
        ? {
            label: [episodeCode(nextItem), nextItem.title].filter(Boolean).join(' · '),
            play: () => router.replace(`/play/${nextItem.id}?from=start`),
          }
        : null,
    [nextItem, router],
  );

  if (detail.isPending) {
    return (
      <View style={{ flex: 1, backgroundColor: '#000', justifyContent: 'center' }}>
        <Loading />
      </View>
    );
  }
  if (detail.error || !item) {
    return (
      <View style={{ flex: 1, backgroundColor: colors.background, justifyContent: 'center' }}>
        <ErrorView error={detail.error ?? 'Not found'} onRetry={() => void detail.refetch()} />
      </View>
    );
  }
  // Read once: the user data changes while playing (progress reports), the start does not.
  const startAtUs = from === 'start' ? 0 : resumePosition(item.user, item.duration_us);
  const subtitle =
    item.type === 'episode' ? [item.series_title, episodeCode(item)].filter(Boolean).join(' · ') : item.year ? String(item.year) : null;
  return (
    <PlayerView
      key={item.id}
      itemId={item.id}
      title={item.title}
      subtitle={subtitle}
      startAtUs={startAtUs}
      durationUs={item.duration_us}
      next={next}
      onExit={onExit}
    />
  );
}
