/**
 * Onboarding and login: the server address (the page's origin on web), username and password,
 * and a button per OpenID Connect provider the server offers.
 */
import { useEffect, useState } from 'react';
import { KeyboardAvoidingView, Platform, ScrollView, View } from 'react-native';
import { SafeAreaView } from 'react-native-safe-area-context';

import { ApiError } from '../src/api/client';
import { useOidcProviders } from '../src/api/hooks';
import { startOidcLogin, takeOidcRedirect } from '../src/api/oidcLogin';
import { useSession } from '../src/api/session';
import { Button, T, TextField } from '../src/components/ui';
import { colors, radius, spacing, useTheme } from '../src/theme';

function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return `Cannot reach the server. Check the address. (${error.message})`;
    if (error.status === 401) return 'Wrong username or password.';
    if (error.status === 429) return 'Too many attempts: wait a minute and try again.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export default function LoginScreen() {
  const { server, setServer, login, adopt, client } = useSession();
  const { type, bp } = useTheme();
  const [address, setAddress] = useState(server);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const providers = useOidcProviders();

  // Back from an OIDC provider (web): the tokens are in the URL fragment.
  useEffect(() => {
    const result = takeOidcRedirect();
    if (result.kind === 'tokens') void adopt(result);
    else if (result.kind === 'error') setError(`Sign-in failed: ${result.description || result.code}`);
  }, [adopt]);

  useEffect(() => setAddress(server), [server]);

  const applyAddress = () => {
    if (address.trim() && address.trim() !== server) setServer(address);
  };

  const submit = async () => {
    applyAddress();
    if (!username || !password) {
      setError('Enter your username and password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const oidc = async (name: string) => {
    const provider = providers.data?.providers.find((p) => p.name === name);
    if (!provider) return;
    setError(null);
    try {
      const result = await startOidcLogin(client, provider);
      if (result.kind === 'tokens') await adopt(result);
      else if (result.kind === 'error') setError(`Sign-in failed: ${result.description || result.code}`);
    } catch (e) {
      setError(messageOf(e));
    }
  };

  const list = providers.data?.providers ?? [];
  return (
    <SafeAreaView style={{ flex: 1, backgroundColor: colors.background }}>
      <KeyboardAvoidingView behavior={Platform.OS === 'ios' ? 'padding' : undefined} style={{ flex: 1 }}>
        <ScrollView contentContainerStyle={{ flexGrow: 1, justifyContent: 'center', padding: spacing.xl }}>
          <View
            accessibilityRole="form"
            style={{
              alignSelf: 'center',
              width: '100%',
              maxWidth: bp === 'tv' ? 720 : 440,
              backgroundColor: colors.surface,
              borderRadius: radius.lg,
              padding: spacing.xl,
              gap: spacing.lg,
            }}
          >
            <T kind="display" role="header" style={{ color: colors.accent }}>
              Reelbox
            </T>
            <T muted>Sign in to your media server.</T>
            <TextField
              label="Server address"
              value={address}
              onChangeText={setAddress}
              onBlur={applyAddress}
              onSubmitEditing={applyAddress}
              placeholder="http://192.168.1.10:8420"
              autoCapitalize="none"
              autoCorrect={false}
              keyboardType="url"
              inputMode="url"
            />
            <TextField
              label="Username"
              value={username}
              onChangeText={setUsername}
              autoCapitalize="none"
              autoCorrect={false}
              autoComplete="username"
              textContentType="username"
            />
            <TextField
              label="Password"
              value={password}
              onChangeText={setPassword}
              secureTextEntry
              autoComplete="current-password"
              textContentType="password"
              onSubmitEditing={() => void submit()}
            />
            {error ? (
              <T role="alert" style={{ color: colors.danger }}>
                {error}
              </T>
            ) : null}
            <Button label={busy ? 'Signing in…' : 'Sign in'} onPress={() => void submit()} disabled={busy} />
            {list.length > 0 ? (
              <View style={{ gap: spacing.sm }}>
                <T muted style={[type.caption, { textAlign: 'center' }]}>
                  or
                </T>
                {list.map((p) => (
                  <Button
                    key={p.name}
                    variant="secondary"
                    label={`Sign in with ${p.display_name}`}
                    onPress={() => void oidc(p.name)}
                  />
                ))}
              </View>
            ) : null}
          </View>
        </ScrollView>
      </KeyboardAvoidingView>
    </SafeAreaView>
  );
}
