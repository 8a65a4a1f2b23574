/** The page frame: the navigation bar and a scrolling body. */
import { usePathname, useRouter } from 'expo-router';
import type { ReactNode } from 'react';
import { ScrollView, Text, View } from 'react-native';
import { SafeAreaView } from 'react-native-safe-area-context';

import { useSession } from '../api/session';
import { useOnline } from '../downloads/useOnline';
import { colors, spacing, useTheme } from '../theme';
import { Focusable } from '../tv/Focusable';

const LINKS = [
  { href: '/', label: 'Home' },
  { href: '/library', label: 'Library' },
  { href: '/search', label: 'Search' },
  { href: '/remote', label: 'Remote' },
  { href: '/downloads', label: 'Downloads' },
] as const;

/** Shown while the device has no network: downloaded titles still play. */
function OfflineBadge() {
  const online = useOnline();
  const { type } = useTheme();
  if (online) return null;
  return (
    <View
      role="status"
      aria-label="Offline: downloaded titles still play"
      style={{ backgroundColor: colors.surfaceRaised, borderRadius: 999, paddingHorizontal: spacing.md, paddingVertical: spacing.xs }}
    >
      <Text style={[type.label, { color: colors.danger }]}>● Offline</Text>
    </View>
  );
}

export function NavBar() {
  const router = useRouter();
  const path = usePathname();
  const { logout } = useSession();
  const { type, gutter } = useTheme();
  return (
    <View
      role="navigation"
      aria-label="Main"
      style={{
        flexDirection: 'row',
        alignItems: 'center',
        gap: spacing.sm,
        paddingHorizontal: gutter - 3,
        paddingVertical: spacing.sm,
        flexWrap: 'wrap',
      }}
    >
      <Text style={[type.title, { color: colors.accent, marginRight: spacing.lg }]} accessibilityRole="header">
        Reelbox
      </Text>
      {LINKS.map((link) => {
        const current = link.href === '/' ? path === '/' : path.startsWith(link.href);
        return (
          <Focusable
            key={link.href}
            label={link.label}
            role="link"
            selected={current}
            onPress={() => router.navigate(link.href)}
            style={{ paddingHorizontal: spacing.md, paddingVertical: spacing.xs, minHeight: 44, justifyContent: 'center' }}
          >
            <Text
              style={[
                type.label,
                { color: current ? colors.text : colors.textMuted },
                current ? { textDecorationLine: 'underline' } : null,
              ]}
            >
              {link.label}
            </Text>
          </Focusable>
        );
      })}
      <View style={{ flex: 1 }} />
      <OfflineBadge />
      <Focusable
        label="Sign out"
        onPress={() => void logout()}
        style={{ paddingHorizontal: spacing.md, paddingVertical: spacing.xs, minHeight: 44, justifyContent: 'center' }}
      >
        <Text style={[type.label, { color: colors.textMuted }]}>Sign out</Text>
      </Focusable>
    </View>
  );
}

export function Screen({ children, scroll = true }: { children: ReactNode; scroll?: boolean }) {
  const body = scroll ? (
    <ScrollView contentContainerStyle={{ paddingBottom: spacing.xxxl, gap: spacing.xl }}>{children}</ScrollView>
  ) : (
    <View style={{ flex: 1 }}>{children}</View>
  );
  return (
    <SafeAreaView style={{ flex: 1, backgroundColor: colors.background }} edges={['top', 'left', 'right']}>
      <NavBar />
      <View style={{ flex: 1 }} accessibilityRole="main">
        {body}
      </View>
    </SafeAreaView>
  );
}
