/**
 * A title's Download control: the qualities the server offers (GET /api/items/{id}/downloads)
 * as one button each, with the size; once queued, the download's state and a link to the
 * Downloads screen.
 */
import { useQuery } from '@tanstack/react-query';
import { useRouter } from 'expo-router';
import { View } from 'react-native';

import { useApi } from '../api/session';
import type { DownloadQuality } from '../api/types';
import { Button, ProgressBar, T } from '../components/ui';
import { spacing } from '../theme';
import { useDownloadManager, useDownloads } from './DownloadsProvider';
import { formatBytes, progressOf, qualityName, statusLine } from './state';

function optionLabel(q: DownloadQuality): string {
  const size = q.size_bytes ? ` (${q.transcoded ? 'about ' : ''}${formatBytes(q.size_bytes)})` : '';
  return `${qualityName(q.quality)}${size}`;
}

export function DownloadChoice({ itemId, title, subtitle }: { itemId: number; title: string; subtitle: string | null }) {
  const api = useApi();
  const router = useRouter();
  const manager = useDownloadManager();
  const { downloads } = useDownloads();
  const options = useQuery({
    queryKey: ['downloads', itemId],
    queryFn: () => api.downloadOptions(itemId),
  });
  const mine = downloads.filter((d) => d.itemId === itemId);
  if (!options.data?.qualities.length && !mine.length) return null;
  return (
    <View style={{ gap: spacing.sm }}>
      {options.data?.qualities.length ? (
        <View role="group" aria-label="Download for offline" style={{ gap: spacing.xs }}>
          <T kind="label" muted>
            Download for offline
          </T>
          <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm, padding: 3 }}>
            {options.data.qualities.map((q) => (
              <Button
                key={q.quality}
                variant="secondary"
                icon="⤓"
                label={optionLabel(q)}
                accessibilityLabel={`Download ${optionLabel(q)}`}
                disabled={mine.some((d) => d.quality === q.quality && d.status !== 'failed' && d.status !== 'paused')}
                onPress={() => manager.add({ itemId, title, subtitle, quality: q.quality, sizeBytes: q.size_bytes })}
              />
            ))}
          </View>
        </View>
      ) : null}
      {mine.map((d) => (
        <View key={d.id} style={{ gap: spacing.xs, maxWidth: 420 }}>
          <T kind="caption" muted aria-live="polite">
            {qualityName(d.quality)}: {statusLine(d)}
          </T>
          {d.status !== 'done' ? <ProgressBar fraction={progressOf(d)} /> : null}
        </View>
      ))}
      {mine.length ? (
        <Button variant="ghost" label="Open Downloads" onPress={() => router.push('/downloads')} style={{ alignSelf: 'flex-start' }} />
      ) : null}
    </View>
  );
}
