/**
 * One WebSocket to the server's `/api/ws`, kept open while signed in: authenticate with the
 * access token (browsers cannot set headers on a WebSocket), say hello as this device, ask for
 * the user's devices, answer pings, and reconnect with backoff when the connection drops. A
 * refused token (close 4401) is refreshed before the next attempt.
 */
import { parseMessage, reconnectDelayMs, type ServerMessage } from './protocol';

const UNAUTHORIZED = 4401;
const FORBIDDEN = 4403;

export interface SocketOptions {
  /** The server's base URL (http or https). */
  server: () => string;
  /** The access token; `stale`: the last one was refused, get a fresh one. */
  token: (stale: boolean) => Promise<string | null>;
  hello: { device: string; id: string; capabilities: readonly string[] };
  onMessage: (message: ServerMessage) => void;
  onConnected?: (connected: boolean) => void;
  WebSocketImpl?: new (url: string) => WebSocket;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export function socketUrl(server: string): string {
  return `${server.replace(/^http/i, 'ws').replace(/\/+$/, '')}/api/ws`;
}

export class RemoteSocket {
  private socket: WebSocket | null = null;
  private stopped = true;
  private attempt = 0;
  private stale = false;
  private timer: unknown = null;
  private ready = false;

  constructor(private readonly options: SocketOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as never);
    this.timer = null;
    this.socket?.close(1000, 'signed out');
    this.socket = null;
    this.setReady(false);
  }

  /** Send a message once hello has been said; false when not connected. */
  send(message: Record<string, unknown>): boolean {
    if (!this.ready || !this.socket) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  private setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    this.options.onConnected?.(ready);
  }

  private async connect(): Promise<void> {
    const token = await this.options.token(this.stale).catch(() => null);
    if (this.stopped) return;
    if (!token) {
      this.retry();
      return;
    }
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const socket = new Impl(socketUrl(this.options.server()));
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token }));
    socket.onmessage = (event: MessageEvent) => this.receive(socket, event.data);
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setReady(false);
      if (event.code === FORBIDDEN) return; // another user's token: wait for a new sign-in
      this.stale = event.code === UNAUTHORIZED;
      this.retry();
    };
  }

  private receive(socket: WebSocket, data: unknown): void {
    const message = parseMessage(data);
    if (!message || this.socket !== socket) return;
    switch (message.type) {
      case 'ping':
        socket.send(JSON.stringify({ type: 'pong' }));
        return;
      case 'authenticated':
        if (!this.ready) {
          this.attempt = 0;
          this.stale = false;
          const { device, id, capabilities } = this.options.hello;
          socket.send(JSON.stringify({ type: 'hello', device, id, capabilities }));
        }
        break;
      case 'welcome':
        this.setReady(true);
        socket.send(JSON.stringify({ type: 'devices' }));
        break;
    }
    this.options.onMessage(message);
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = reconnectDelayMs(this.attempt);
    this.attempt += 1;
    this.timer = (this.options.setTimer ?? setTimeout)(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }
}
