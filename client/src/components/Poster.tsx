/** An item's card: picture (with blurhash placeholder), title, subtitle and resume bar. */
import { useRouter } from 'expo-router';
import { Text, View } from 'react-native';

import type { Item } from '../api/types';
import { colors, radius, spacing, useTheme } from '../theme';
import { Focusable } from '../tv/Focusable';
import { AuthImage } from './AuthImage';
import { itemAccessibilityLabel, primaryTitle, progressFraction, secondaryTitle } from './labels';
import { ProgressBar } from './ui';

/**
 * The card's shape: a poster is 2:3; other pictures (video thumbs, covers, photos) keep their
 * own shape, clamped between 2:3 and 16:9 so rows stay tidy; no picture: by the item's type.
 */
export function aspectOf(item: Item): number {
  const image = item.image;
  if (image && image.kind === 'poster') return 2 / 3;
  if (image && image.width > 0 && image.height > 0) {
    return Math.min(16 / 9, Math.max(2 / 3, image.width / image.height));
  }
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
            {/* A space the line's start swallows on screen: in the page's text the two lines
                read as separate words ("Title 2021", not "Title2021"), as in the card's name. */}
            {` ${second}`}
          </Text>
        ) : null}
      </View>
    </Focusable>
  );
}
