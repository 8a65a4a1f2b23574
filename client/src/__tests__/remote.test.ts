import {
  commandMessage,
  deviceName,
  nextDevices,
  parseMessage,
  reconnectDelayMs,
  toCommand,
  type Device,
} from '../remote/protocol';
import { RemoteSocket, socketUrl } from '../remote/socket';

const tv: Device = { id: 'tv', name: 'Living room TV', capabilities: ['play', 'pause'] };
const phone: Device = { id: 'phone', name: 'Phone', capabilities: [] };

describe('remote protocol', () => {
  it('reads commands and ignores what is not one', () => {
    expect(toCommand({ type: 'remote', command: 'seek', from: 'phone', position_us: 5e6 })).toEqual({
      command: 'seek',
      from: 'phone',
      positionUs: 5e6,
      itemId: null,
    });
    expect(toCommand({ type: 'remote', command: 'explode' })).toBeNull();
    expect(toCommand({ type: 'ping' })).toBeNull();
    expect(parseMessage('not json')).toBeNull();
    expect(parseMessage('[1]')).toBeNull();
    expect(parseMessage('{"type":"pong"}')).toEqual({ type: 'pong' });
  });

  it('follows devices coming and going', () => {
    let list = nextDevices([], { type: 'devices', devices: [tv] });
    list = nextDevices(list, { type: 'device_online', device: phone });
    expect(list.map((d) => d.id)).toEqual(['tv', 'phone']);
    list = nextDevices(list, { type: 'device_online', device: { ...tv, name: 'TV' } });
    expect(list.map((d) => d.name)).toEqual(['Phone', 'TV']);
    list = nextDevices(list, { type: 'device_offline', device: { id: 'phone' } });
    expect(list.map((d) => d.id)).toEqual(['tv']);
  });

  it('writes commands the server accepts', () => {
    expect(commandMessage('tv', 'seek', { positionUs: 1234.6 })).toEqual({ type: 'remote', target: 'tv', command: 'seek', position_us: 1235 });
    expect(commandMessage('tv', 'play', { itemId: 7 })).toEqual({ type: 'remote', target: 'tv', command: 'play', item_id: 7 });
  });

  it('names devices', () => {
    const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';
    expect(deviceName('web', false, chrome)).toBe('Chrome on Linux');
    expect(deviceName('android', true)).toBe('Reelbox on Android TV');
    expect(deviceName('ios', true)).toBe('Reelbox on Apple TV');
  });

  it('backs off reconnecting up to 30 s', () => {
    expect([0, 1, 2, 10].map(reconnectDelayMs)).toEqual([1000, 2000, 4000, 30000]);
  });
});

class FakeSocket {
  static made: FakeSocket[] = [];
  sent: Record<string, unknown>[] = [];
  closed: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number) {
    this.closed = code;
  }
  hear(message: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

describe('RemoteSocket', () => {
  const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

  function setup(tokens: (string | null)[]) {
    FakeSocket.made = [];
    const heard: string[] = [];
    const timers: (() => void)[] = [];
    const asked: boolean[] = [];
    const socket = new RemoteSocket({
      server: () => 'https://media.example:8420/',
      token: async (stale) => {
        asked.push(stale);
        return tokens.shift() ?? null;
      },
      hello: { device: 'Chrome on Linux', id: 'me', capabilities: ['play'] },
      onMessage: (m) => heard.push(m.type),
      WebSocketImpl: FakeSocket as unknown as new (url: string) => WebSocket,
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => undefined,
    });
    return { socket, heard, timers, asked };
  }

  it('authenticates, says hello, lists devices, answers pings', async () => {
    const { socket, heard } = setup(['t1']);
    expect(socketUrl('http://a:1/')).toBe('ws://a:1/api/ws');
    socket.start();
    await flush();
    const ws = FakeSocket.made[0]!;
    expect(ws.url).toBe('wss://media.example:8420/api/ws');
    ws.onopen?.();
    expect(ws.sent).toEqual([{ type: 'auth', token: 't1' }]);
    expect(socket.send({ type: 'remote' })).toBe(false); // not ready before hello
    ws.hear({ type: 'authenticated', user_id: 1, username: 'a' });
    expect(ws.sent.at(-1)).toEqual({ type: 'hello', device: 'Chrome on Linux', id: 'me', capabilities: ['play'] });
    ws.hear({ type: 'welcome', device: { id: 'me' } });
    expect(ws.sent.at(-1)).toEqual({ type: 'devices' });
    ws.hear({ type: 'ping' });
    expect(ws.sent.at(-1)).toEqual({ type: 'pong' });
    expect(socket.send({ type: 'remote', target: 'tv' })).toBe(true);
    expect(heard).toEqual(['authenticated', 'welcome']); // pings are answered here
    socket.stop();
    expect(ws.closed).toBe(1000);
  });

  it('reconnects after a drop, with a fresh token after a 4401', async () => {
    const { socket, timers, asked } = setup(['t1', 't2']);
    socket.start();
    await flush();
    FakeSocket.made[0]!.onclose?.({ code: 4401 });
    expect(timers).toHaveLength(1);
    timers[0]!();
    await flush();
    expect(asked).toEqual([false, true]);
    FakeSocket.made[1]!.onopen?.();
    expect(FakeSocket.made[1]!.sent).toEqual([{ type: 'auth', token: 't2' }]);
    socket.stop();
  });
});
