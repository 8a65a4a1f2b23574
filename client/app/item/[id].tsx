/** Item detail: picture, facts, overview, play/resume, watched and favourite, tracks, cast. */
import { useLocalSearchParams, useRouter } from 'expo-router';
import { useState } from 'react';
import { View } from 'react-native';

import { useItem, useSeason, useUserDataMutation } from '../../src/api/hooks';
import type { ItemDetail, Stream } from '../../src/api/types';
import { AuthImage } from '../../src/components/AuthImage';
import { EpisodeList } from '../../src/components/EpisodeList';
import { episodeCode, progressFraction } from '../../src/components/labels';
import { aspectOf } from '../../src/components/Poster';
import { Screen } from '../../src/components/Screen';
import { Button, ErrorView, Loading, ProgressBar, T } from '../../src/components/ui';
import { formatTime, resumePosition } from '../../src/player/state';
import { colors, radius, spacing, useTheme } from '../../src/theme';
import { useRemote } from '../../src/remote/RemoteProvider';
import { DownloadChoice } from '../../src/downloads/DownloadChoice';

function downloadSubtitle(item: ItemDetail['item']): string | null {
  if (item.type === 'episode') return [item.series_title, episodeCode(item)].filter(Boolean).join(' · ') || null;
  return item.year ? String(item.year) : null;
}

function streamLabel(s: Stream): string {
  const parts: (string | null)[] = [s.title, s.language ? s.language.toUpperCase() : null, s.codec?.toUpperCase() ?? null];
  if (s.kind === 'video' && s.width && s.height) parts.push(`${s.width}×${s.height}`);
  if (s.kind === 'audio' && s.channels) parts.push(s.channel_layout ?? `${s.channels} ch`);
  if (s.is_default) parts.push('default');
  if (s.is_forced) parts.push('forced');
  if (s.external) parts.push('external file');
  return parts.filter(Boolean).join(' · ') || `Track ${s.index + 1}`;
}

function Tracks({ detail }: { detail: ItemDetail }) {
  const groups: [string, Stream[]][] = [
    ['Video', detail.streams.filter((s) => s.kind === 'video')],
    ['Audio', detail.streams.filter((s) => s.kind === 'audio')],
    ['Subtitles', detail.streams.filter((s) => s.kind === 'subtitle')],
  ];
  if (groups.every(([, list]) => list.length === 0)) return null;
  return (
    <View style={{ gap: spacing.sm }}>
      <T kind="heading" role="header">
        Tracks
      </T>
      {groups.map(([name, list]) =>
        list.length ? (
          <View key={name} style={{ gap: spacing.xs }}>
            <T kind="label" muted>
              {name}
            </T>
            <View role="list" aria-label={name} style={{ gap: spacing.xs }}>
              {list.map((s) => (
                <View key={s.index} role="listitem">
                  <T kind="caption">{streamLabel(s)}</T>
                </View>
              ))}
            </View>
          </View>
        ) : null,
      )}
    </View>
  );
}

export default function ItemScreen() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const itemId = Number(id);
  const router = useRouter();
  const { bp, gutter, width } = useTheme();
  const detail = useItem(itemId);
  const item = detail.data?.item;
  const season = useSeason(item?.type === 'episode' ? item.season_id : null);
  const userData = useUserDataMutation(itemId);
  const remote = useRemote();
  const [castNote, setCastNote] = useState<string | null>(null);

  if (detail.isPending) return <Screen><Loading /></Screen>;
  if (detail.error || !detail.data || !item) {
    return <Screen><ErrorView error={detail.error ?? 'Not found'} onRetry={() => void detail.refetch()} /></Screen>;
  }
  const d = detail.data;
  const wide = bp !== 'phone';
  const picture = d.images.find((i) => i.kind === 'poster') ?? item.image;
  const aspect = aspectOf({ ...item, image: picture });
  const pictureWidth = wide ? Math.min(aspect > 1 ? 480 : 300, width * 0.35) : width - 2 * gutter;
  const resumeAt = resumePosition(item.user, item.duration_us);
  const playable = item.type !== 'photo';
  const facts = [
    item.year ? String(item.year) : null,
    item.official_rating,
    item.duration_us ? formatTime(item.duration_us) : null,
    item.community_rating ? `★ ${item.community_rating.toFixed(1)}` : null,
    d.width && d.height ? `${d.height}p` : null,
  ].filter(Boolean);
  const cast = d.people.filter((p) => p.role === 'actor' || p.role === 'Actor');
  const crew = d.people.filter((p) => !(p.role === 'actor' || p.role === 'Actor'));

  return (
    <Screen>
      <View style={{ paddingHorizontal: gutter, gap: spacing.xl }}>
        <View style={{ flexDirection: wide ? 'row' : 'column', gap: spacing.xl }}>
          <AuthImage
            image={picture}
            width={pictureWidth}
            label={`Picture of ${item.title}`}
            style={{ width: pictureWidth, height: pictureWidth / aspect, borderRadius: radius.lg }}
          />
          <View style={{ flex: 1, gap: spacing.md }}>
            {item.type === 'episode' && item.series_title ? (
              <Button
                variant="ghost"
                label={`${item.series_title}${episodeCode(item) ? ` · ${episodeCode(item)}` : ''}`}
                accessibilityLabel={`Go to the series ${item.series_title}`}
                onPress={() => item.series_id && router.push(`/series/${item.series_id}`)}
                style={{ alignSelf: 'flex-start', paddingHorizontal: spacing.xs }}
              />
            ) : null}
            <T kind="display" role="header">
              {item.title}
            </T>
            {d.original_title && d.original_title !== item.title ? <T muted>{d.original_title}</T> : null}
            {facts.length ? <T muted>{facts.join('  ·  ')}</T> : null}
            {d.genres.length ? <T kind="caption" muted>{d.genres.join(', ')}</T> : null}
            {progressFraction(item) > 0 ? (
              <View style={{ gap: spacing.xs, maxWidth: 360 }}>
                <ProgressBar fraction={progressFraction(item)} />
                <T kind="caption" muted>
                  {formatTime(item.user.position_us)} of {formatTime(item.duration_us)} watched
                </T>
              </View>
            ) : null}
            <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm, padding: 3 }}>
              {playable ? (
                <Button
                  autoFocus
                  icon="▶"
                  label={resumeAt > 0 ? `Resume from ${formatTime(resumeAt)}` : 'Play'}
                  onPress={() => router.push(`/play/${item.id}`)}
                />
              ) : null}
              {playable && resumeAt > 0 ? (
                <Button variant="secondary" label="Play from the start" onPress={() => router.push(`/play/${item.id}?from=start`)} />
              ) : null}
              <Button
                variant="secondary"
                label={item.user.played ? 'Mark unwatched' : 'Mark watched'}
                onPress={() => userData.mutate({ played: !item.user.played })}
                disabled={userData.isPending}
              />
              <Button
                variant="secondary"
                icon={item.user.is_favorite ? '♥' : '♡'}
                label={item.user.is_favorite ? 'Favourite' : 'Add to favourites'}
                accessibilityLabel={item.user.is_favorite ? 'Remove from favourites' : 'Add to favourites'}
                onPress={() => userData.mutate({ favorite: !item.user.is_favorite })}
                disabled={userData.isPending}
              />
            </View>
            {playable && remote.devices.length > 0 ? (
              <View role="group" aria-label="Play on another device" style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm, padding: 3 }}>
                {remote.devices
                  .filter((device) => device.capabilities.includes('play'))
                  .map((device) => (
                    <Button
                      key={device.id}
                      variant="secondary"
                      icon="⇪"
                      label={`Play on ${device.name}`}
                      onPress={() => {
                        const sent = remote.send(device.id, 'play', resumeAt > 0 ? { itemId: item.id, positionUs: resumeAt } : { itemId: item.id });
                        setCastNote(sent ? `Sent to ${device.name}.` : 'Not connected to the server: try again in a moment.');
                      }}
                    />
                  ))}
              </View>
            ) : null}
            {castNote ? (
              <T muted aria-live="polite">
                {castNote}
              </T>
            ) : null}
            {playable ? <DownloadChoice itemId={item.id} title={item.title} subtitle={downloadSubtitle(item)} /> : null}
            {userData.error ? <ErrorView error={userData.error} /> : null}
            {d.overview ? <T style={{ maxWidth: 900 }}>{d.overview}</T> : null}
          </View>
        </View>
        {cast.length > 0 || crew.length > 0 ? (
          <View style={{ gap: spacing.sm }}>
            <T kind="heading" role="header">
              Cast and crew
            </T>
            <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.md }} role="list" aria-label="Cast and crew">
              {[...cast, ...crew].slice(0, 30).map((p) => (
                <View
                  key={`${p.person_id}-${p.role}-${p.character ?? ''}`}
                  role="listitem"
                  style={{ backgroundColor: colors.surface, borderRadius: radius.md, padding: spacing.sm, minWidth: 160 }}
                >
                  <T kind="label">{p.name}</T>
                  <T kind="caption" muted>
                    {p.character ? `as ${p.character}` : p.role}
                  </T>
                </View>
              ))}
            </View>
          </View>
        ) : null}
        <Tracks detail={d} />
        {item.type === 'episode' && season.data ? (
          <View style={{ gap: spacing.sm }}>
            <T kind="heading" role="header">
              {season.data.title ?? `Season ${season.data.number}`}
            </T>
            <EpisodeList episodes={season.data.episodes} currentId={item.id} />
          </View>
        ) : null}
      </View>
    </Screen>
  );
}
