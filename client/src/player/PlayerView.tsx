/**
 * The native player (iOS, Android, tvOS, Android TV): expo-video with the platform's own
 * controls, which bring quality, audio and subtitle menus, captions styling, the D-pad and the
 * remote. This view starts the server session, resumes, reports progress, and offers the next
 * episode. (Type-checked here; run on devices through an EAS or local build.)
 */
import { useEvent, useEventListener } from 'expo';
import { useRouter } from 'expo-router';
import { useVideoPlayer, VideoView } from 'expo-video';
import { useEffect, useMemo, useRef, useState } from 'react';
import { BackHandler, View } from 'react-native';

import { useApi } from '../api/session';
import { Button, ErrorView, T } from '../components/ui';
import { useRemoteCommands } from '../remote/RemoteProvider';
import { colors, radius, spacing } from '../theme';
import type { PlayerViewProps } from './types';
import { usePlayback } from './usePlayback';

const US = 1_000_000;

export function PlayerView({ itemId, title, startAtUs, next, onExit }: PlayerViewProps) {
  const api = useApi();
  const positionRef = useRef(startAtUs);
  const playback = usePlayback(itemId, positionRef);
  const [ended, setEnded] = useState(false);
  const source = useMemo(
    () => (playback.url ? { uri: playback.url, headers: api.authHeaders(), metadata: { title } } : null),
    [playback.url, api, title],
  );
  const player = useVideoPlayer(source, (p) => {
    p.timeUpdateEventInterval = 1;
    if (startAtUs > 0) p.currentTime = startAtUs / US;
  });
  const { isPlaying } = useEvent(player, 'playingChange', { isPlaying: player.playing });
  const { status, error } = useEvent(player, 'statusChange', { status: player.status });

  useEffect(() => {
    if (source) player.play(); // play() in the setup callback is ignored on some platforms
  }, [player, source]);

  useEventListener(player, 'timeUpdate', ({ currentTime }) => {
    positionRef.current = currentTime * US;
    playback.reporter?.tick(currentTime * US, player.playing);
  });
  useEventListener(player, 'playToEnd', () => {
    setEnded(true);
    playback.reporter?.report(player.currentTime * US, true);
  });
  useEffect(() => {
    if (!isPlaying && status === 'readyToPlay') playback.reporter?.report(player.currentTime * US, true);
  }, [isPlaying, status, player, playback.reporter]);

  // Commands from the user's other devices (remote control), as on web.
  const router = useRouter();
  useRemoteCommands((command) => {
    switch (command.command) {
      case 'play':
        if (command.itemId !== null && command.itemId !== itemId) router.replace(`/play/${command.itemId}`);
        else {
          if (command.positionUs !== null) player.currentTime = command.positionUs / US;
          player.play();
        }
        break;
      case 'pause':
        player.pause();
        break;
      case 'seek':
        player.currentTime = (command.positionUs ?? 0) / US;
        break;
      case 'stop':
        onExit();
        break;
    }
  });

  useEffect(() => {
    const sub = BackHandler.addEventListener('hardwareBackPress', () => {
      onExit();
      return true;
    });
    return () => sub.remove();
  }, [onExit]);

  return (
    <View style={{ flex: 1, backgroundColor: '#000' }}>
      <VideoView
        player={player}
        style={{ flex: 1 }}
        nativeControls
        allowsPictureInPicture
        contentFit="contain"
        accessibilityLabel={title}
      />
      {playback.error || status === 'error' ? (
        <View style={{ position: 'absolute', inset: 0, justifyContent: 'center', alignItems: 'center', backgroundColor: colors.overlay }}>
          <ErrorView error={playback.error ?? error?.message ?? 'Playback failed'} onRetry={playback.retry} />
          <Button variant="secondary" label="Back" onPress={onExit} />
        </View>
      ) : null}
      {ended && next ? (
        <View style={{ position: 'absolute', right: spacing.xl, bottom: spacing.xxxl, backgroundColor: colors.surface, borderRadius: radius.lg, padding: spacing.lg, gap: spacing.sm }}>
          <T kind="label" muted>
            Up next
          </T>
          <T kind="heading">{next.label}</T>
          <Button autoFocus label="Play next episode" onPress={next.play} />
        </View>
      ) : null}
    </View>
  );
}
