/** Native: a downloaded title plays from its file with expo-video and the platform's controls. */
import { useVideoPlayer, VideoView } from 'expo-video';
import { useEffect } from 'react';

export function OfflineVideo({ source, title }: { source: string; title: string }) {
  const player = useVideoPlayer({ uri: source, metadata: { title } });
  useEffect(() => {
    player.play(); // play() in the setup callback is ignored on some platforms
  }, [player]);
  return <VideoView player={player} style={{ flex: 1 }} nativeControls contentFit="contain" accessibilityLabel={title} />;
}
