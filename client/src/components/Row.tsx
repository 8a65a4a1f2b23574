/** A home row: a heading and a horizontal strip of cards. */
import { ScrollView, View } from 'react-native';

import type { Item } from '../api/types';
import { spacing, useTheme } from '../theme';
import { Poster } from './Poster';
import { T } from './ui';

export function Row({ title, items, wide }: { title: string; items: Item[]; wide?: boolean }) {
  const { bp, gutter } = useTheme();
  if (items.length === 0) return null;
  const base = bp === 'tv' ? 220 : bp === 'phone' ? 120 : 160;
  const width = wide ? base * 1.6 : base;
  return (
    <View style={{ gap: spacing.sm }}>
      <T kind="heading" role="header" style={{ paddingHorizontal: gutter }}>
        {title}
      </T>
      <ScrollView
        horizontal
        showsHorizontalScrollIndicator={false}
        contentContainerStyle={{ paddingHorizontal: gutter - 3, gap: spacing.md }}
        role="list"
        aria-label={title}
      >
        {items.map((item) => (
          <View key={item.id} role="listitem">
            <Poster item={item} width={width} />
          </View>
        ))}
      </ScrollView>
    </View>
  );
}
