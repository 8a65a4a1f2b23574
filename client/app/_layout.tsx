/** The root: react-query, the login session, the auth gate and keyboard/remote navigation. */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Stack, useRouter, useSegments } from 'expo-router';
import { StatusBar } from 'expo-status-bar';
import { useCallback, useEffect } from 'react';
import { Platform, View } from 'react-native';
import { SafeAreaProvider } from 'react-native-safe-area-context';

import { shouldRetry } from '../src/api/hooks';
import { SessionProvider, useSession } from '../src/api/session';
import { RemoteProvider } from '../src/remote/RemoteProvider';
import { DownloadsProvider } from '../src/downloads/DownloadsProvider';
import { registerOfflineShell } from '../src/downloads/offlineShell';
import { Loading } from '../src/components/ui';
import { colors } from '../src/theme';
import { useKeyNavigation } from '../src/tv/keyNavigation';

if (Platform.OS === 'web' && typeof document !== 'undefined') {
  // The page behind the app: dark from the first paint, no white flash.
  document.documentElement.style.backgroundColor = colors.background;
  document.documentElement.style.colorScheme = 'dark';
  registerOfflineShell();
}

const queryClient = new QueryClient({
  defaultOptions: {
    queries: { retry: shouldRetry, staleTime: 30_000, refetchOnWindowFocus: false },
  },
});

function Gate() {
  const { status } = useSession();
  const segments = useSegments();
  const router = useRouter();
  const onLogin = segments[0] === 'login';

  useEffect(() => {
    if (status === 'anonymous' && !onLogin) router.replace('/login');
    else if (status === 'authenticated' && onLogin) router.replace('/');
  }, [status, onLogin, router]);

  const back = useCallback(() => {
    if (router.canGoBack()) router.back();
  }, [router]);
  useKeyNavigation(back);

  if (status === 'restoring') {
    return (
      <View style={{ flex: 1, backgroundColor: colors.background, justifyContent: 'center' }}>
        <Loading label="Starting Reelbox" />
      </View>
    );
  }
  return (
    <Stack
      screenOptions={{
        headerShown: false,
        contentStyle: { backgroundColor: colors.background },
        animation: 'none',
      }}
    />
  );
}

export default function RootLayout() {
  return (
    <QueryClientProvider client={queryClient}>
      <SafeAreaProvider style={{ backgroundColor: colors.background }}>
        <SessionProvider>
          <DownloadsProvider>
            <RemoteProvider>
              <StatusBar style="light" />
              <Gate />
            </RemoteProvider>
          </DownloadsProvider>
        </SessionProvider>
      </SafeAreaProvider>
    </QueryClientProvider>
  );
}
