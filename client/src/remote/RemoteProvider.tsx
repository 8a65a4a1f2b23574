/**
 * Remote control for the whole app: while signed in, this app is one of the user's devices on
 * the server's WebSocket (./socket). Commands from another device go to the player on screen
 * (`useRemoteCommands`); a `play` naming a title opens it when no player is. `useRemote` lists
 * the user's other devices and sends them commands.
 */
import { useRouter } from 'expo-router';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Platform } from 'react-native';

import { useSession } from '../api/session';
import {
  CAPABILITIES,
  commandMessage,
  deviceName,
  nextDevices,
  toCommand,
  type Device,
  type RemoteAction,
  type RemoteCommand,
  type RemoteResult,
} from './protocol';
import { RemoteSocket } from './socket';

const DEVICE_ID_KEY = 'reelbox.deviceId';

/** A stable id for this browser (localStorage), or one per launch where there is none. */
function deviceId(): string {
  const fresh = `d-${Math.random().toString(36).slice(2, 12)}`;
  try {
    const storage = typeof localStorage !== 'undefined' ? localStorage : null;
    if (!storage) return fresh;
    const known = storage.getItem(DEVICE_ID_KEY);
    if (known) return known;
    storage.setItem(DEVICE_ID_KEY, fresh);
  } catch {
    // storage disabled: a new id each time
  }
  return fresh;
}

type Handler = (command: RemoteCommand) => void;

interface RemoteValue {
  connected: boolean;
  /** The user's other devices that are connected now. */
  devices: Device[];
  /** The last answer about a command this app sent. */
  lastResult: RemoteResult | null;
  send(target: string, command: RemoteAction, options?: { positionUs?: number; itemId?: number }): boolean;
  /** The player registers here to be commanded; returns the unregister function. */
  register(handler: Handler): () => void;
}

const RemoteContext = createContext<RemoteValue | null>(null);

export function RemoteProvider({ children }: { children: ReactNode }) {
  const { client, status } = useSession();
  const router = useRouter();
  const [connected, setConnected] = useState(false);
  const [devices, setDevices] = useState<Device[]>([]);
  const [lastResult, setLastResult] = useState<RemoteResult | null>(null);
  const handlers = useRef<Handler[]>([]);
  const socketRef = useRef<RemoteSocket | null>(null);
  const routerRef = useRef(router);
  routerRef.current = router;
  const ownId = useMemo(deviceId, []);

  useEffect(() => {
    if (status !== 'authenticated') return;
    const ua = typeof navigator !== 'undefined' ? (navigator.userAgent ?? '') : '';
    const socket = new RemoteSocket({
      server: () => client.server,
      token: async (stale) => {
        if (stale && !(await client.refresh())) return null;
        return client.accessToken;
      },
      hello: { device: deviceName(Platform.OS, Platform.isTV, ua), id: ownId, capabilities: CAPABILITIES },
      onConnected: setConnected,
      onMessage: (message) => {
        setDevices((list) => nextDevices(list, message));
        if (message.type === 'remote_result') {
          const m = message as { device: string; delivered: boolean; reason?: string | null };
          setLastResult({ device: m.device, delivered: m.delivered, reason: m.reason ?? null });
        }
        const command = toCommand(message);
        if (!command) return;
        const handler = handlers.current.at(-1);
        if (handler) handler(command);
        else if (command.command === 'play' && command.itemId !== null) routerRef.current.push(`/play/${command.itemId}`);
      },
    });
    socketRef.current = socket;
    socket.start();
    return () => {
      socket.stop();
      socketRef.current = null;
      setDevices([]);
    };
  }, [client, status, ownId]);

  const send = useCallback<RemoteValue['send']>((target, command, options = {}) => {
    setLastResult(null);
    return socketRef.current?.send(commandMessage(target, command, options)) ?? false;
  }, []);

  const register = useCallback((handler: Handler) => {
    handlers.current.push(handler);
    return () => {
      handlers.current = handlers.current.filter((h) => h !== handler);
    };
  }, []);

  const value = useMemo(
    () => ({ connected, devices: devices.filter((d) => !d.self && d.id !== ownId), lastResult, send, register }),
    [connected, devices, lastResult, send, register, ownId],
  );
  return <RemoteContext.Provider value={value}>{children}</RemoteContext.Provider>;
}

export function useRemote(): RemoteValue {
  const value = useContext(RemoteContext);
  if (!value) throw new Error('useRemote outside <RemoteProvider>');
  return value;
}

/** Be commanded by the user's other devices while mounted (the player). */
export function useRemoteCommands(handler: Handler): void {
  const { register } = useRemote();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => register((command) => ref.current(command)), [register]);
}
