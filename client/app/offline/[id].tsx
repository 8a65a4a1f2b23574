/** A downloaded title, played from this device's copy: no network needed. */
import { useLocalSearchParams, useRouter } from 'expo-router';
import { useEffect, useState } from 'react';
import { View } from 'react-native';

import { Button, ErrorView, Loading, T } from '../../src/components/ui';
import { useDownloadManager, useDownloads } from '../../src/downloads/DownloadsProvider';
import { OfflineVideo } from '../../src/downloads/OfflineVideo';
import { qualityName } from '../../src/downloads/state';
import { colors, spacing } from '../../src/theme';

export default function OfflinePlayScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const router = useRouter();
  const manager = useDownloadManager();
  const { downloads } = useDownloads();
  const download = downloads.find((d) => d.id === id);
  const [source, setSource] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const done = download?.status === 'done';

  useEffect(() => {
    if (!done || !id) return;
    let cancelled = false;
    manager.source(id).then(
      (url) => !cancelled && setSource(url),
      (e: unknown) => !cancelled && setError(e),
    );
    return () => {
      cancelled = true;
    };
  }, [manager, id, done]);

  const back = () => (router.canGoBack() ? router.back() : router.replace('/downloads'));
  return (
    <View style={{ flex: 1, backgroundColor: '#000' }}>
      <View style={{ flexDirection: 'row', alignItems: 'center', gap: spacing.md, padding: spacing.sm, backgroundColor: colors.background }}>
        <Button variant="ghost" icon="←" label="Back" accessibilityLabel="Back to Downloads" onPress={back} />
        <T kind="title" role="header" numberOfLines={1}>
          {download ? `${download.title} (${qualityName(download.quality)}, downloaded)` : 'Downloaded title'}
        </T>
      </View>
      <View style={{ flex: 1 }} accessibilityRole="main">
        {error || (download && !done) || (!download && downloads.length) ? (
          <ErrorView error={error ?? 'This title is not downloaded'} />
        ) : source && download ? (
          <OfflineVideo source={source} title={download.title} />
        ) : (
          <Loading />
        )}
      </View>
    </View>
  );
}
