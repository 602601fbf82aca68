/**
 * One WebSocket that stays up: it pings to beat the gateway's idle limit, reconnects with jittered
 * back-off when it drops, and reports every (re)open so the app can catch up on what it missed.
 */

const PING_INTERVAL_MS = 4 * 60 * 1000;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30 * 1000;

export class LiveSocket {
  /**
   * @param {string} url full ws(s):// URL including the token
   * @param {object} hooks
   *   onFrame(frame)         every parsed JSON frame that has a `type`
   *   onStatus(state)        "connecting" | "live" | "reconnecting"
   *   onOpen({reconnect})    the socket is up; `reconnect` is false only the very first time
   *   onTrouble(attempts)    every third failed attempt in a row (e.g. to check the token)
   */
  constructor(url, hooks) {
    this.url = url;
    this.hooks = hooks;
    this.ws = null;
    this.attempts = 0;
    this.opened = false;
    this.stopped = true;
    this.retryTimer = null;
    this.pingTimer = null;
    this.reconnectNow = this.reconnectNow.bind(this);
    this.onVisibility = () => document.visibilityState === 'visible' && this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.reconnectNow);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.hooks.onStatus('connecting');
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.reconnectNow);
    document.removeEventListener('visibilitychange', this.onVisibility);
    clearTimeout(this.retryTimer);
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'logout');
  }

  /** Skip the back-off wait (the network came back, the tab became visible). */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => this.handleOpen(ws));
    ws.addEventListener('message', (event) => this.handleMessage(ws, event));
    ws.addEventListener('close', () => this.handleClose(ws));
  }

  handleOpen(ws) {
    if (ws !== this.ws) return;
    const reconnect = this.opened;
    this.opened = true;
    this.attempts = 0;
    this.startPing();
    this.hooks.onStatus('live');
    this.hooks.onOpen({ reconnect });
  }

  handleMessage(ws, event) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame && typeof frame.type === 'string') this.hooks.onFrame(frame);
  }

  handleClose(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.stopPing();
    if (this.stopped) return;
    this.hooks.onStatus('reconnecting');
    this.scheduleRetry();
  }

  scheduleRetry() {
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts += 1;
    if (this.attempts % 3 === 0 && this.hooks.onTrouble) this.hooks.onTrouble(this.attempts);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => this.send({ action: 'ping' }), PING_INTERVAL_MS);
  }

  stopPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  /** Send a frame; false when the socket is not open (the caller falls back). */
  send(payload) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(payload));
    return true;
  }
}
