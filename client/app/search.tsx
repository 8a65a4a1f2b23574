/** Title search: results as you type, best matches first (typos forgiven by the server). */
import { useState } from 'react';
import { View } from 'react-native';

import { useSearch } from '../src/api/hooks';
import { Grid } from '../src/components/Grid';
import { Screen } from '../src/components/Screen';
import { useDebounced } from '../src/components/useDebounced';
import { ErrorView, Loading, T, TextField } from '../src/components/ui';
import { spacing } from '../src/theme';

export default function SearchScreen() {
  const [text, setText] = useState('');
  const q = useDebounced(text, 200);
  const results = useSearch(q);
  const items = q.trim() ? (results.data?.items ?? []) : [];
  return (
    <Screen scroll={false}>
      <Grid
        items={items}
        header={
          <View style={{ gap: spacing.md, paddingHorizontal: 3, paddingVertical: spacing.md }}>
            <TextField
              label="Search"
              value={text}
              onChangeText={setText}
              placeholder="Titles of films, shows, episodes, music"
              autoFocus
              autoCorrect={false}
              autoCapitalize="none"
              returnKeyType="search"
              inputMode="search"
            />
            <View accessibilityLiveRegion="polite" aria-live="polite">
              {results.isFetching ? <Loading label="Searching" /> : null}
              {results.error ? <ErrorView error={results.error} /> : null}
              {q.trim() && results.data && items.length === 0 ? <T muted>No title matches “{q.trim()}”.</T> : null}
              {q.trim() && items.length > 0 ? (
                <T muted kind="caption">
                  {items.length} {items.length === 1 ? 'result' : 'results'}
                </T>
              ) : null}
            </View>
          </View>
        }
      />
    </Screen>
  );
}
