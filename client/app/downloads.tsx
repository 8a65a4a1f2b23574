/** Downloads: every download with its progress, pause/resume/cancel/delete, and the storage used. Works offline. */
import { useRouter } from 'expo-router';
import { View } from 'react-native';

import { Screen } from '../src/components/Screen';
import { Button, T } from '../src/components/ui';
import { useDownloadManager, useDownloads } from '../src/downloads/DownloadsProvider';
import { formatBytes, progressOf, qualityName, statusLine, storageUsed, type Download } from '../src/downloads/state';
import { colors, radius, spacing, useTheme } from '../src/theme';

function DownloadProgress({ download }: { download: Download }) {
  const pct = Math.round(progressOf(download) * 100);
  return (
    <View
      role="progressbar"
      aria-label={`${download.title} download progress`}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      style={{ height: 8, backgroundColor: colors.progressTrack, borderRadius: 4, overflow: 'hidden' }}
    >
      <View style={{ width: `${pct}%`, height: '100%', backgroundColor: download.status === 'done' ? colors.success : colors.accent }} />
    </View>
  );
}

function Row({ download: d }: { download: Download }) {
  const manager = useDownloadManager();
  const router = useRouter();
  const name = `${d.title} (${qualityName(d.quality)})`;
  const running = d.status === 'downloading' || d.status === 'queued';
  return (
    <View role="listitem" aria-label={name} style={{ backgroundColor: colors.surface, borderRadius: radius.lg, padding: spacing.lg, gap: spacing.sm }}>
      <View style={{ flexDirection: 'row', alignItems: 'baseline', gap: spacing.sm, flexWrap: 'wrap' }}>
        <T kind="heading">{d.title}</T>
        <T muted>{[d.subtitle, qualityName(d.quality)].filter(Boolean).join(' · ')}</T>
      </View>
      <DownloadProgress download={d} />
      <T kind="caption" muted aria-live="polite" style={d.status === 'failed' ? { color: colors.danger } : null}>
        {statusLine(d)}
      </T>
      <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm, padding: 3 }}>
        {d.status === 'done' ? (
          <Button icon="▶" label="Play" accessibilityLabel={`Play ${name}`} onPress={() => router.push(`/offline/${encodeURIComponent(d.id)}`)} />
        ) : null}
        {running ? (
          <Button variant="secondary" label="Pause" accessibilityLabel={`Pause ${name}`} onPress={() => void manager.pause(d.id)} />
        ) : null}
        {d.status === 'paused' || d.status === 'failed' ? (
          <Button variant="secondary" label={d.status === 'failed' ? 'Retry' : 'Resume'} accessibilityLabel={`${d.status === 'failed' ? 'Retry' : 'Resume'} ${name}`} onPress={() => manager.resume(d.id)} />
        ) : null}
        <Button
          variant="secondary"
          label={d.status === 'done' ? 'Delete' : 'Cancel'}
          accessibilityLabel={`${d.status === 'done' ? 'Delete' : 'Cancel'} ${name}`}
          onPress={() => void manager.remove(d.id)}
        />
      </View>
    </View>
  );
}

export default function DownloadsScreen() {
  const state = useDownloads();
  const { gutter } = useTheme();
  return (
    <Screen>
      <View style={{ paddingHorizontal: gutter, gap: spacing.lg }}>
        <T kind="display" role="header">
          Downloads
        </T>
        <T muted aria-label={`Storage used: ${formatBytes(storageUsed(state))}`}>
          Storage used: {formatBytes(storageUsed(state))}
        </T>
        {state.downloads.length === 0 ? (
          <T muted>Nothing downloaded yet: a title's page has a Download button for each quality.</T>
        ) : (
          <View role="list" aria-label="Downloads" style={{ gap: spacing.md }}>
            {state.downloads.map((d) => (
              <Row key={d.id} download={d} />
            ))}
          </View>
        )}
      </View>
    </Screen>
  );
}
