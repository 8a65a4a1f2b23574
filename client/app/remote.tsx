/**
 * Remote control: pick another of your signed-in devices (a TV, another browser) and play,
 * pause, start over or stop what it plays, through the server's WebSocket.
 */
import { useState } from 'react';
import { View } from 'react-native';

import { Screen } from '../src/components/Screen';
import { Button, Chip, Loading, T } from '../src/components/ui';
import { useRemote } from '../src/remote/RemoteProvider';
import type { RemoteAction } from '../src/remote/protocol';
import { colors, spacing, useTheme } from '../src/theme';

export default function RemoteScreen() {
  const { connected, devices, lastResult, send } = useRemote();
  const { gutter } = useTheme();
  const [chosen, setChosen] = useState<string | null>(null);
  const target = devices.find((d) => d.id === chosen) ?? (devices.length === 1 ? devices[0] : undefined);
  const [sent, setSent] = useState<string | null>(null);

  const command = (action: RemoteAction, label: string, positionUs?: number) => {
    if (!target) return;
    const ok = send(target.id, action, positionUs === undefined ? {} : { positionUs });
    setSent(ok ? `${label}: sent to ${target.name}.` : 'Not connected to the server: try again in a moment.');
  };
  const refused = lastResult && !lastResult.delivered && lastResult.device === target?.id ? lastResult.reason : null;
  // Two devices may share a name (two browsers of one kind): the id tells them apart.
  const named = (id: string, name: string) =>
    devices.filter((d) => d.name === name).length > 1 ? `${name} (${id.slice(-4)})` : name;

  return (
    <Screen>
      <View style={{ paddingHorizontal: gutter, gap: spacing.lg }}>
        <T kind="display" role="header">
          Remote control
        </T>
        {!connected ? <Loading label="Connecting to the server" /> : null}
        {connected && devices.length === 0 ? (
          <T muted>None of your other devices is connected. Open Reelbox on your TV or another browser, signed in as you.</T>
        ) : null}
        {devices.length > 0 ? (
          <View role="radiogroup" aria-label="Device" style={{ gap: spacing.xs }}>
            <T kind="caption" muted>
              Device
            </T>
            <View style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm, padding: 3 }}>
              {devices.map((d) => (
                <Chip radio key={d.id} label={named(d.id, d.name)} selected={target?.id === d.id} onPress={() => setChosen(d.id)} />
              ))}
            </View>
          </View>
        ) : null}
        {target ? (
          <View role="group" aria-label={`Control ${target.name}`} style={{ flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm, padding: 3 }}>
            <Button icon="▶" label="Play" onPress={() => command('play', 'Play')} />
            <Button variant="secondary" icon="❚❚" label="Pause" onPress={() => command('pause', 'Pause')} />
            <Button variant="secondary" icon="↺" label="Start over" onPress={() => command('seek', 'Start over', 0)} />
            <Button variant="secondary" icon="■" label="Stop" onPress={() => command('stop', 'Stop')} />
          </View>
        ) : null}
        <View aria-live="polite">
          {refused ? (
            <T role="alert" style={{ color: colors.danger }}>
              {refused}
            </T>
          ) : sent ? (
            <T muted>{sent}</T>
          ) : null}
        </View>
      </View>
    </Screen>
  );
}
