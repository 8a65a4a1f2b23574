/** A responsive grid of cards that loads more as it scrolls. */
import { FlatList, View } from 'react-native';

import type { Item } from '../api/types';
import { gridColumns, spacing, useTheme } from '../theme';
import { Poster } from './Poster';

export function Grid({
  items,
  onEndReached,
  header,
  footer,
}: {
  items: Item[];
  onEndReached?: () => void;
  header?: React.JSX.Element | null;
  footer?: React.JSX.Element | null;
}) {
  const { width, bp, gutter } = useTheme();
  const columns = gridColumns(width - 2 * gutter, bp);
  const cell = Math.floor((width - 2 * gutter - (columns - 1) * spacing.md) / columns) - 6;
  return (
    <FlatList
      key={columns}
      data={items}
      numColumns={columns}
      keyExtractor={(item) => String(item.id)}
      renderItem={({ item }) => (
        <View style={{ marginBottom: spacing.lg }}>
          <Poster item={item} width={cell} />
        </View>
      )}
      columnWrapperStyle={columns > 1 ? { gap: spacing.md } : undefined}
      contentContainerStyle={{ paddingHorizontal: gutter - 3, paddingBottom: spacing.xxxl }}
      onEndReached={onEndReached}
      onEndReachedThreshold={0.5}
      ListHeaderComponent={header ?? undefined}
      ListFooterComponent={footer ?? undefined}
    />
  );
}
