/** An item's card: picture (with blurhash placeholder), title, subtitle and resume bar. */
import { useRouter } from 'expo-router';
import { Text, View } from 'react-native';

import type { Item } from '../api/types';
import { colors, radius, spacing, useTheme } from '../theme';
import { Focusable } from '../tv/Focusable';
import { AuthImage } from './AuthImage';
import { itemAccessibilityLabel, primaryTitle, progressFraction, secondaryTitle } from './labels';
import { ProgressBar } from './ui';

/** Wide (16:9) for episodes and videos, tall (2:3) for films, square for music and photos. */
export function aspectOf(item: Item): number {
  switch (item.type) {
    case 'episode':
    case 'video':
      return 16 / 9;
    case 'track':
    case 'photo':
      return 1;
    default:
      return 2 / 3;
  }
}

export function itemHref(item: Item): string {
  return `/item/${item.id}`;
}

export function Poster({ item, width, autoFocus }: { item: Item; width: number; autoFocus?: boolean }) {
  const router = useRouter();
  const { type } = useTheme();
  const aspect = aspectOf(item);
  const fraction = progressFraction(item);
  const second = secondaryTitle(item);
  return (
    <Focusable
      label={itemAccessibilityLabel(item)}
      role="link"
      autoFocus={autoFocus}
      onPress={() => router.push(itemHref(item))}
      style={{ width: width + 6, padding: 0, borderRadius: radius.md + 3 }}
    >
      <View style={{ width, gap: spacing.xs }}>
        <View>
          <AuthImage
            image={item.image}
            width={width}
            label={null}
            style={{ width, height: width / aspect, borderRadius: radius.md }}
          />
          {item.user.played ? (
            <View
              aria-hidden
              style={{
                position: 'absolute',
                top: spacing.xs,
                right: spacing.xs,
                backgroundColor: colors.accent,
                borderRadius: radius.pill,
                paddingHorizontal: spacing.sm,
              }}
            >
              <Text style={[type.caption, { color: colors.onAccent, fontWeight: '700' }]}>✓</Text>
            </View>
          ) : null}
          {fraction > 0 ? (
            <ProgressBar fraction={fraction} style={{ position: 'absolute', left: 6, right: 6, bottom: 6 }} />
          ) : null}
        </View>
        <Text numberOfLines={1} style={[type.label, { color: colors.text }]}>
          {primaryTitle(item)}
        </Text>
        {second ? (
          <Text numberOfLines={1} style={[type.caption, { color: colors.textMuted }]}>
            {second}
          </Text>
        ) : null}
      </View>
    </Focusable>
  );
}
