/**
 * A server image with its blurhash placeholder. Image routes need the login, so the request
 * carries the bearer token: expo-image sends `headers` on native and, on web, fetches the image
 * with them into a blob URL. The server resizes to `width` device pixels.
 */
import { Image } from 'expo-image';
import { useMemo } from 'react';
import { PixelRatio, View, type ImageStyle, type StyleProp } from 'react-native';

import { useApi } from '../api/session';
import type { Image as ApiImage } from '../api/types';
import { colors } from '../theme';

export function AuthImage({
  image,
  width,
  style,
  label,
}: {
  image: ApiImage | null | undefined;
  /** Displayed width in points: the server is asked for this many device pixels. */
  width: number;
  style?: StyleProp<ImageStyle>;
  /** null: decorative (the surrounding control already names it). */
  label?: string | null;
}) {
  const api = useApi();
  const token = api.accessToken;
  const pixels = Math.ceil(PixelRatio.getPixelSizeForLayoutSize(width) / 50) * 50; // few cache keys
  const uri = image ? api.imageUrl(image.url, pixels) : null;
  const source = useMemo(
    () => {
      if (!uri) return null;
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      return { uri, headers };
    },
    [uri, token],
  );
  if (!source) {
    return <View style={[{ backgroundColor: colors.surfaceRaised }, style as object]} aria-hidden />;
  }
  return (
    <Image
      source={source}
      placeholder={image?.blurhash ? { blurhash: image.blurhash } : undefined}
      contentFit="cover"
      transition={150}
      cachePolicy="memory-disk"
      accessible={!!label}
      accessibilityLabel={label ?? ''}
      style={[{ backgroundColor: colors.surfaceRaised }, style]}
    />
  );
}
