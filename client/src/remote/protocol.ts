/**
 * Remote control over the server's WebSocket (`/api/ws`, web/ws.py): this app is a device the
 * user's other devices can command (play, pause, seek, stop), and a remote for them. Pure data
 * and decisions here; ./socket.ts carries the messages, ./RemoteProvider.tsx runs them.
 */

export type RemoteAction = 'play' | 'pause' | 'seek' | 'stop';

export const CAPABILITIES: readonly RemoteAction[] = ['play', 'pause', 'seek', 'stop'];

export interface Device {
  id: string;
  name: string;
  capabilities: string[];
  /** This connection's own device. */
  self?: boolean;
}

/** A command this device received. */
export interface RemoteCommand {
  command: RemoteAction;
  from: string | null;
  positionUs: number | null;
  itemId: number | null;
}

/** What a remote hears back about a command it sent. */
export interface RemoteResult {
  device: string;
  delivered: boolean;
  reason: string | null;
}

export type ServerMessage =
  | { type: 'authenticated'; user_id: number; username: string }
  | { type: 'welcome'; device: Device }
  | { type: 'devices'; devices: Device[] }
  | { type: 'device_online'; device: Device }
  | { type: 'device_offline'; device: Device | { id: string } }
  | { type: 'remote'; command: string; from?: string; position_us?: number | null; item_id?: number | null }
  | { type: 'remote_result'; device: string; delivered: boolean; reason?: string | null }
  | { type: 'ping' }
  | { type: 'error'; code: string; message: string }
  | { type: string; [key: string]: unknown };

export function parseMessage(text: unknown): ServerMessage | null {
  if (typeof text !== 'string') return null;
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') {
      return value as ServerMessage;
    }
  } catch {
    // not JSON: ignored
  }
  return null;
}

function isAction(value: unknown): value is RemoteAction {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}

export function toCommand(message: ServerMessage): RemoteCommand | null {
  if (message.type !== 'remote') return null;
  const m = message as { command?: unknown; from?: unknown; position_us?: unknown; item_id?: unknown };
  if (!isAction(m.command)) return null;
  return {
    command: m.command,
    from: typeof m.from === 'string' ? m.from : null,
    positionUs: typeof m.position_us === 'number' ? m.position_us : null,
    itemId: typeof m.item_id === 'number' ? m.item_id : null,
  };
}

/** The user's devices after `message` (the list, a device coming or going). */
export function nextDevices(devices: Device[], message: ServerMessage): Device[] {
  switch (message.type) {
    case 'devices':
      return (message as { devices: Device[] }).devices;
    case 'device_online': {
      const device = (message as { device: Device }).device;
      return [...devices.filter((d) => d.id !== device.id), device];
    }
    case 'device_offline': {
      const id = (message as { device: { id: string } }).device.id;
      return devices.filter((d) => d.id !== id);
    }
    default:
      return devices;
  }
}

/** The message that sends `command` to device `target`. */
export function commandMessage(
  target: string,
  command: RemoteAction,
  options: { positionUs?: number; itemId?: number; id?: string } = {},
): Record<string, unknown> {
  return {
    type: 'remote',
    target,
    command,
    ...(options.positionUs !== undefined ? { position_us: Math.max(0, Math.round(options.positionUs)) } : {}),
    ...(options.itemId !== undefined ? { item_id: options.itemId } : {}),
    ...(options.id !== undefined ? { id: options.id } : {}),
  };
}

/** A name a person recognises: "Chrome on Linux", "Reelbox on Android TV". */
export function deviceName(os: string, isTV: boolean, userAgent = ''): string {
  if (os !== 'web') {
    const platform = { ios: isTV ? 'Apple TV' : 'iPhone or iPad', android: isTV ? 'Android TV' : 'Android' }[os] ?? os;
    return `Reelbox on ${platform}`;
  }
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /(Chrome|Chromium)\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : 'A browser';
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /(iPhone|iPad)/.test(userAgent)
      ? 'iOS'
      : /Mac OS X/.test(userAgent)
        ? 'macOS'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /Linux|X11/.test(userAgent)
            ? 'Linux'
            : null;
  return system ? `${browser} on ${system}` : browser;
}

/** Reconnection delays: 1 s doubling to 30 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}
