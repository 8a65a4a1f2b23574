/** A season's episodes as rows: thumbnail, code and title, resume bar. */
import { useRouter } from 'expo-router';
import { Text, View } from 'react-native';

import type { Item } from '../api/types';
import { formatTime } from '../player/state';
import { colors, radius, spacing, useTheme } from '../theme';
import { Focusable } from '../tv/Focusable';
import { AuthImage } from './AuthImage';
import { episodeCode, itemAccessibilityLabel, progressFraction } from './labels';
import { ProgressBar } from './ui';

export function EpisodeList({ episodes, currentId }: { episodes: Item[]; currentId?: number }) {
  const router = useRouter();
  const { type, bp } = useTheme();
  const thumb = bp === 'tv' ? 240 : bp === 'phone' ? 120 : 180;
  return (
    <View style={{ gap: spacing.sm }} role="list" aria-label="Episodes">
      {episodes.map((e) => (
        <View key={e.id} role="listitem">
          <Focusable
            role="link"
            label={itemAccessibilityLabel(e)}
            selected={e.id === currentId}
            onPress={() => router.push(`/item/${e.id}`)}
            style={{
              flexDirection: 'row',
              gap: spacing.md,
              padding: spacing.sm,
              backgroundColor: e.id === currentId ? colors.surfaceRaised : colors.surface,
              borderRadius: radius.md,
              alignItems: 'center',
            }}
          >
            <View>
              <AuthImage image={e.image} width={thumb} label={null} style={{ width: thumb, height: (thumb * 9) / 16, borderRadius: radius.sm }} />
              {progressFraction(e) > 0 ? (
                <ProgressBar fraction={progressFraction(e)} style={{ position: 'absolute', left: 4, right: 4, bottom: 4 }} />
              ) : null}
            </View>
            <View style={{ flex: 1, gap: spacing.xs }}>
              <Text style={[type.label, { color: colors.text }]} numberOfLines={2}>
                {[episodeCode(e), e.title].filter(Boolean).join(' · ')}
              </Text>
              <Text style={[type.caption, { color: colors.textMuted }]}>
                {[e.duration_us ? formatTime(e.duration_us) : null, e.user.played ? 'Watched' : null].filter(Boolean).join(' · ')}
              </Text>
            </View>
          </Focusable>
        </View>
      ))}
    </View>
  );
}
