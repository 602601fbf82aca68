/**
 * Switchboard website chat widget.
 *
 *   <script src="widget.js" data-inbox="INBOX_ID" data-api="https://api.example.com"
 *           data-ws="wss://ws.example.com/ws" async></script>
 *
 * Optional: data-title ("Chat with us"), data-subtitle, data-color (#rrggbb accent).
 * Self-contained: no dependencies, injects its own styles, and defines one global, window.SwitchboardWidget.
 * The visitor's id and token live in localStorage, so history survives reloads.
 */
(() => {
  'use strict';

  if (window.SwitchboardWidget) return; // embedded twice: the first one wins

  const PING_MS = 4 * 60 * 1000;
  const MAX_RECONNECT_MS = 30 * 1000;
  const SEND_RETRY_MS = [1000, 3000, 7000];

  const script = document.currentScript || document.querySelector('script[data-inbox][src*="widget"]');
  const config = readConfig(script);
  if (!config) return;

  const STORAGE_KEY = `sb-widget:${config.inbox}`;
  const state = {
    session: null, // {visitor_id, visitor_token, profile_sent, last_seen_at}
    sessionRequest: null,
    messages: [], // {key, id, client_id, direction: "in"|"out", text, at, author_name, state: "sending"|"sent"|"failed", error}
    open: false,
    blocked: false,
    unread: 0,
    socket: null,
    everConnected: false,
    attempts: 0,
    reconnectTimer: null,
    pingTimer: null,
  };
  let ui = null; // the widget's elements, built on start()

  // ------------------------------------------------------------------ config & storage

  function readConfig(node) {
    const data = node ? node.dataset : {};
    if (!data.inbox || !data.api || !data.ws) {
      console.error('[switchboard widget] data-inbox, data-api and data-ws are required on the script tag.');
      return null;
    }
    return {
      inbox: data.inbox,
      api: data.api.replace(/\/+$/, ''),
      ws: data.ws,
      title: data.title || 'Chat with us',
      subtitle: data.subtitle || 'We usually reply within a few minutes',
      color: /^#[0-9a-f]{6}$/i.test(data.color || '') ? data.color : '#2850c8',
    };
  }

  const memoryStore = {};
  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return memoryStore[key] ?? null; // storage disabled (privacy mode): keep the session for this page only
    }
  }
  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch {
      memoryStore[key] = value;
    }
  }
  function storageRemove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch {
      delete memoryStore[key];
    }
  }

  function loadSession() {
    try {
      const saved = JSON.parse(storageGet(STORAGE_KEY) || 'null');
      return saved && saved.visitor_id && saved.visitor_token ? saved : null;
    } catch {
      return null;
    }
  }

  function saveSession() {
    if (state.session) storageSet(STORAGE_KEY, JSON.stringify(state.session));
  }

  function forgetSession() {
    state.session = null;
    storageRemove(STORAGE_KEY);
    closeSocket();
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // ------------------------------------------------------------------ HTTP

  class WidgetError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function call(method, body, query) {
    const url = new URL(`${config.api}/webhooks/widget/${encodeURIComponent(config.inbox)}`, location.href);
    Object.entries(query || {}).forEach(([k, v]) => url.searchParams.set(k, v));
    let response;
    try {
      response = await fetch(url.href, {
        method,
        headers: body ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new WidgetError('No connection. Check your internet and try again.', 0, 'network_error');
    }
    const data = await response.json().catch(() => ({}));
    if (response.ok) return data;
    const error = new WidgetError(data.detail || data.title || `Something went wrong (${response.status}).`, response.status, data.code);
    if (response.status === 403 && data.code === 'contact_blocked') block();
    throw error;
  }

  function credentials() {
    return { visitor_id: state.session.visitor_id, visitor_token: state.session.visitor_token };
  }

  /** The first open creates the visitor; concurrent callers share one request. */
  function ensureSession() {
    if (state.session) return Promise.resolve(state.session);
    if (!state.sessionRequest) {
      state.sessionRequest = call('POST', { type: 'session' })
        .then((data) => {
          state.session = { visitor_id: data.visitor_id, visitor_token: data.visitor_token, profile_sent: false };
          saveSession();
          return state.session;
        })
        .finally(() => {
          state.sessionRequest = null;
        });
    }
    return state.sessionRequest;
  }

  async function loadHistory() {
    if (!state.session || state.blocked) return;
    const asked = state.session;
    try {
      const data = await call('GET', null, credentials());
      if (state.session !== asked) return;
      if (data.hidden) {
        block(); // the business hid the chat for this visitor
        return;
      }
      mergeHistory(Array.isArray(data.messages) ? data.messages : []);
      setStatus('');
    } catch (error) {
      if (state.blocked || state.session !== asked) return;
      if ([401, 403, 404].includes(error.status)) forgetSession(); // the server no longer knows this visitor
      else setStatus('Could not load earlier messages.');
    }
  }

  // ------------------------------------------------------------------ messages

  function fromServer(message) {
    return {
      key: message.id,
      id: message.id,
      direction: message.direction === 'out' ? 'out' : 'in',
      text: message.text || '',
      at: message.at || new Date().toISOString(),
      author_name: message.author_name || '',
      state: 'sent',
    };
  }

  function byTime(a, b) {
    return (Date.parse(a.at) || 0) - (Date.parse(b.at) || 0);
  }

  /** History is the truth; keep only our own messages the server has not listed yet. */
  function mergeHistory(serverMessages) {
    const server = serverMessages.map(fromServer);
    const ids = new Set(server.map((m) => m.id));
    const pending = state.messages.filter((m) => m.client_id && !ids.has(m.id));
    state.messages = server.sort(byTime).concat(pending);
    if (!state.open) countUnread();
    else markSeen();
    render({ stick: true });
  }

  /** message.created from the socket: an operator reply, or our own message echoed from another tab. */
  function receive(message) {
    if (!message || !message.id) return;
    const incoming = fromServer(message);
    const known = state.messages.find((m) => m.id === incoming.id);
    if (known) return;
    const inFlight = incoming.direction === 'in'
      && state.messages.some((m) => m.state === 'sending' && m.text === incoming.text);
    if (inFlight) return; // our POST's answer will give it its id
    state.messages.push(incoming);
    if (incoming.direction === 'out') {
      if (state.open && !document.hidden) markSeen();
      else {
        state.unread += 1;
        renderBadge();
      }
    }
    render({ stick: state.open });
  }

  function countUnread() {
    const seen = Date.parse(state.session?.last_seen_at || '') || 0;
    state.unread = state.messages.filter((m) => m.direction === 'out' && (Date.parse(m.at) || 0) > seen).length;
    renderBadge();
  }

  function markSeen() {
    state.unread = 0;
    renderBadge();
    const last = state.messages[state.messages.length - 1];
    if (state.session && last) {
      state.session.last_seen_at = last.at;
      saveSession();
    }
  }

  async function submit() {
    const text = ui.input.value.trim();
    if (!text || state.blocked) return;
    if (ui.email.value && !ui.email.checkValidity()) {
      setStatus('Please check your e-mail address, or leave it empty.');
      ui.email.focus();
      return;
    }
    ui.input.value = '';
    autoGrow();
    const clientId = uuid();
    const message = { key: clientId, client_id: clientId, direction: 'in', text, at: new Date().toISOString(), state: 'sending' };
    state.messages.push(message);
    render({ stick: true });
    await deliver(message);
  }

  /** The server dedupes on client_id, so network failures are simply retried with the same id. */
  async function deliver(message) {
    message.state = 'sending';
    message.error = '';
    render();
    for (let attempt = 0; ; attempt += 1) {
      try {
        await ensureSession();
        const data = await call('POST', messageBody(message));
        if (data.hidden) {
          block(); // kept by the business, but the chat is hidden for this visitor
          return;
        }
        acknowledge(message, data.message_id);
        return;
      } catch (error) {
        if (state.blocked) return;
        if (error.status === 401 && attempt === 0) {
          forgetSession(); // stale visitor token: start a fresh visitor and try once more
          continue;
        }
        const transient = error.status === 0 || error.status >= 500;
        if (transient && attempt < SEND_RETRY_MS.length) {
          await new Promise((resolve) => setTimeout(resolve, SEND_RETRY_MS[attempt]));
          continue;
        }
        message.state = 'failed';
        message.error = error.message;
        render();
        return;
      }
    }
  }

  function messageBody(message) {
    const body = {
      type: 'message',
      ...credentials(),
      client_id: message.client_id,
      text: message.text,
      page_url: location.href,
    };
    if (!state.session.profile_sent) {
      const name = ui.name.value.trim();
      const email = ui.email.value.trim();
      if (name) body.name = name;
      if (email) body.email = email;
    }
    return body;
  }

  function acknowledge(message, messageId) {
    message.id = messageId || message.id;
    message.state = 'sent';
    state.messages = state.messages.filter((m) => m === message || !m.id || m.id !== message.id);
    if (!state.session.profile_sent) {
      state.session.profile_sent = true;
      saveSession();
    }
    connect();
    render();
  }

  // ------------------------------------------------------------------ live replies

  function connect() {
    if (!state.session || state.blocked || state.socket) return;
    clearTimeout(state.reconnectTimer);
    const url = new URL(config.ws, location.href);
    url.searchParams.set('inbox_id', config.inbox);
    url.searchParams.set('visitor_id', state.session.visitor_id);
    url.searchParams.set('visitor_token', state.session.visitor_token);
    let ws;
    try {
      ws = new WebSocket(url.href);
    } catch {
      scheduleReconnect();
      return;
    }
    state.socket = ws;
    ws.addEventListener('open', () => {
      if (state.socket !== ws) return;
      state.everConnected = true;
      state.attempts = 0;
      setStatus('');
      clearInterval(state.pingTimer);
      state.pingTimer = setInterval(() => send(ws, { action: 'ping' }), PING_MS);
      loadHistory(); // whatever was said while we were away
    });
    ws.addEventListener('message', (event) => {
      if (state.socket !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && frame.type === 'message.created') receive(frame.message);
    });
    ws.addEventListener('close', () => {
      if (state.socket !== ws) return;
      state.socket = null;
      clearInterval(state.pingTimer);
      if (state.blocked || !state.session) return;
      if (state.everConnected) setStatus('Reconnecting…');
      scheduleReconnect();
    });
  }

  function send(ws, payload) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  }

  function scheduleReconnect() {
    const ceiling = Math.min(MAX_RECONNECT_MS, 1000 * 2 ** state.attempts);
    state.attempts += 1;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  function closeSocket() {
    clearTimeout(state.reconnectTimer);
    clearInterval(state.pingTimer);
    const ws = state.socket;
    state.socket = null;
    if (ws) ws.close(1000);
  }

  function reconnectSoon() {
    if (state.session && !state.socket && !state.blocked) connect();
  }

  // ------------------------------------------------------------------ blocked

  function block() {
    state.blocked = true;
    closeSocket();
    if (ui) {
      ui.root.hidden = true;
      ui.root.setAttribute('aria-hidden', 'true');
    }
  }

  // ------------------------------------------------------------------ UI

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    });
    children.forEach((child) => child !== null && child !== undefined && node.append(child));
    return node;
  }

  function chatIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    svg.append(path);
    return svg;
  }

  function buildUi() {
    const launcher = h('button', {
      id: 'sb-widget-launcher', type: 'button', class: 'sb-launcher',
      'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'sb-widget-panel',
    }, chatIcon());
    const badge = h('span', { class: 'sb-badge', hidden: true, 'aria-hidden': 'true' });
    launcher.append(badge);

    const close = h('button', { id: 'sb-widget-close', type: 'button', class: 'sb-close', 'aria-label': 'Close chat', text: '×' });
    const messages = h('div', { id: 'sb-widget-messages', class: 'sb-messages', role: 'log', 'aria-live': 'polite' });
    const scroll = h('div', { class: 'sb-scroll' },
      h('p', { class: 'sb-greeting', text: 'Hi! Ask us anything — a real person will answer here.' }),
      messages);
    const status = h('div', { id: 'sb-widget-status', class: 'sb-status', role: 'status', hidden: true });
    const name = h('input', { id: 'sb-widget-name', type: 'text', autocomplete: 'name', placeholder: 'Your name (optional)', maxlength: '100' });
    const email = h('input', { id: 'sb-widget-email', type: 'email', autocomplete: 'email', placeholder: 'E-mail (optional)', maxlength: '200' });
    const profile = h('div', { id: 'sb-widget-profile', class: 'sb-profile' },
      h('p', { text: 'So we can reach you if you leave:' }), name, email);
    const input = h('textarea', { id: 'sb-widget-input', rows: '1', placeholder: 'Write a message…', 'aria-label': 'Message' });
    const sendButton = h('button', { id: 'sb-widget-send', type: 'submit', class: 'sb-send', text: 'Send' });
    const form = h('form', { class: 'sb-form' }, input, sendButton);

    const panel = h('div', { id: 'sb-widget-panel', class: 'sb-panel', role: 'dialog', 'aria-label': config.title, hidden: true },
      h('div', { class: 'sb-header' },
        h('div', {}, h('div', { class: 'sb-title', text: config.title }), h('div', { class: 'sb-subtitle', text: config.subtitle })),
        close),
      scroll, status, profile, form);

    const root = h('div', { id: 'sb-widget-root' }, panel, launcher);
    root.style.setProperty('--sb-accent', config.color);

    launcher.addEventListener('click', () => (state.open ? closePanel() : openPanel()));
    close.addEventListener('click', closePanel);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      submit();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    input.addEventListener('input', autoGrow);
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') closePanel();
    });
    messages.addEventListener('click', (event) => {
      const retry = event.target.closest('.sb-retry');
      const message = retry && state.messages.find((m) => m.key === retry.dataset.key);
      if (message) deliver(message);
    });
    return { root, launcher, badge, panel, scroll, messages, status, profile, name, email, input };
  }

  function autoGrow() {
    ui.input.style.height = 'auto';
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 120)}px`;
  }

  function timeOf(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }

  function messageNode(message) {
    const node = h('div', { class: `sb-msg ${message.direction === 'out' ? 'sb-out' : 'sb-in'}${message.state === 'failed' ? ' sb-failed' : ''}` });
    if (message.id) node.dataset.id = message.id;
    if (message.client_id) node.dataset.clientId = message.client_id;
    node.append(h('div', { class: 'sb-bubble', text: message.text }));
    const meta = h('div', { class: 'sb-meta' });
    if (message.direction === 'out' && message.author_name) meta.append(h('span', { text: message.author_name }));
    if (message.state === 'sending') meta.append(h('span', { class: 'sb-state', text: 'Sending…' }));
    else if (message.state === 'failed') {
      meta.append(h('span', { class: 'sb-state', text: `Not sent${message.error ? `: ${message.error}` : ''}` }));
      meta.append(h('button', { type: 'button', class: 'sb-retry', 'data-key': message.key, text: 'Retry' }));
    } else meta.append(h('span', { text: timeOf(message.at) }));
    node.append(meta);
    return node;
  }

  function render({ stick = false } = {}) {
    const nearBottom = ui.scroll.scrollHeight - ui.scroll.scrollTop - ui.scroll.clientHeight < 60;
    ui.messages.replaceChildren(...state.messages.map(messageNode));
    ui.profile.hidden = Boolean(state.session?.profile_sent) || state.messages.length > 0;
    if (stick || nearBottom) ui.scroll.scrollTop = ui.scroll.scrollHeight;
  }

  function renderBadge() {
    ui.badge.hidden = state.unread === 0 || state.open;
    ui.badge.textContent = state.unread > 9 ? '9+' : String(state.unread);
    ui.launcher.setAttribute('aria-label', state.unread ? `Open chat (${state.unread} new)` : 'Open chat');
  }

  function setStatus(text) {
    ui.status.textContent = text;
    ui.status.hidden = !text;
  }

  async function openPanel() {
    if (state.blocked) return;
    state.open = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.launcher.classList.add('sb-open');
    markSeen();
    render({ stick: true });
    ui.input.focus();
    try {
      await ensureSession();
    } catch (error) {
      if (!state.blocked) setStatus(error.message);
      return;
    }
    setStatus('');
    connect(); // its open event loads the history
  }

  function closePanel() {
    state.open = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.classList.remove('sb-open');
    renderBadge();
    ui.launcher.focus();
  }

  const STYLES = `
#sb-widget-root{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1c2230}
#sb-widget-root[hidden]{display:none!important}
#sb-widget-root *,#sb-widget-root *::before,#sb-widget-root *::after{box-sizing:border-box;font:inherit;color:inherit;letter-spacing:normal;text-transform:none}
#sb-widget-root [hidden]{display:none!important}
#sb-widget-root button{cursor:pointer;margin:0}
#sb-widget-root .sb-launcher{position:relative;display:grid;place-items:center;width:58px;height:58px;margin-left:auto;border:0;border-radius:50%;background:var(--sb-accent);color:#fff;box-shadow:0 6px 20px rgba(16,24,40,.28);transition:transform .15s}
#sb-widget-root .sb-launcher:hover{transform:scale(1.06)}
#sb-widget-root .sb-launcher:focus-visible,#sb-widget-root button:focus-visible,#sb-widget-root textarea:focus-visible,#sb-widget-root input:focus-visible{outline:2px solid var(--sb-accent);outline-offset:2px}
#sb-widget-root .sb-launcher svg{width:26px;height:26px;fill:#fff}
#sb-widget-root .sb-badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#d92d20;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center}
#sb-widget-root .sb-panel{position:absolute;right:0;bottom:72px;width:360px;height:520px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(16,24,40,.28)}
#sb-widget-root .sb-header{display:flex;align-items:flex-start;justify-content:space-between;gap:8px;padding:14px 16px;background:var(--sb-accent);color:#fff}
#sb-widget-root .sb-title{font-size:16px;font-weight:700}
#sb-widget-root .sb-subtitle{font-size:12px;opacity:.9}
#sb-widget-root .sb-close{border:0;background:transparent;color:#fff;font-size:24px;line-height:1;padding:0 4px}
#sb-widget-root .sb-scroll{flex:1;overflow-y:auto;padding:12px 14px;background:#f7f8fa}
#sb-widget-root .sb-greeting{margin:0 0 10px;padding:8px 12px;border-radius:12px;background:#fff;border:1px solid #e4e7ec;font-size:13px;color:#475467}
#sb-widget-root .sb-messages{display:flex;flex-direction:column;gap:6px}
#sb-widget-root .sb-msg{display:flex;flex-direction:column;max-width:80%}
#sb-widget-root .sb-in{align-self:flex-end;align-items:flex-end}
#sb-widget-root .sb-out{align-self:flex-start;align-items:flex-start}
#sb-widget-root .sb-bubble{padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
#sb-widget-root .sb-in .sb-bubble{background:var(--sb-accent);color:#fff;border-bottom-right-radius:4px}
#sb-widget-root .sb-out .sb-bubble{background:#fff;border:1px solid #e4e7ec;border-bottom-left-radius:4px}
#sb-widget-root .sb-failed .sb-bubble{opacity:.7}
#sb-widget-root .sb-meta{display:flex;gap:6px;align-items:center;margin-top:2px;font-size:11px;color:#586170}
#sb-widget-root .sb-failed .sb-state{color:#b42318;font-weight:600}
#sb-widget-root .sb-retry{border:0;background:none;padding:0;color:var(--sb-accent);text-decoration:underline;font-size:11px}
#sb-widget-root .sb-status{padding:6px 14px;font-size:12px;background:#fff1e5;color:#93370d}
#sb-widget-root .sb-profile{padding:10px 14px 0;border-top:1px solid #e4e7ec;background:#fff}
#sb-widget-root .sb-profile p{margin:0 0 6px;font-size:12px;color:#586170}
#sb-widget-root .sb-profile input{display:block;width:100%;margin:0 0 6px;padding:7px 10px;border:1px solid #d0d5dd;border-radius:8px;background:#fff}
#sb-widget-root .sb-form{display:flex;gap:8px;align-items:flex-end;margin:0;padding:10px 14px 12px;background:#fff;border-top:1px solid #e4e7ec}
#sb-widget-root .sb-profile+.sb-form{border-top:0}
#sb-widget-root textarea{flex:1;min-height:38px;max-height:120px;padding:8px 10px;border:1px solid #d0d5dd;border-radius:8px;resize:none;background:#fff}
#sb-widget-root .sb-send{height:38px;padding:0 14px;border:0;border-radius:8px;background:var(--sb-accent);color:#fff;font-weight:600}
@media (max-width:480px){#sb-widget-root .sb-panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}}
@media (prefers-reduced-motion:reduce){#sb-widget-root .sb-launcher{transition:none}}
`;

  function injectStyles() {
    if (document.getElementById('sb-widget-styles')) return;
    const style = h('style', { id: 'sb-widget-styles' });
    style.textContent = STYLES;
    document.head.append(style);
  }

  // ------------------------------------------------------------------ start

  function start() {
    injectStyles();
    ui = buildUi();
    document.body.append(ui.root);
    state.session = loadSession();
    if (state.session) {
      // A returning visitor: show replies that came while they were away, and listen for new ones. The widget
      // stays out of sight until the history answers, since it may say the chat is hidden for this visitor.
      ui.root.hidden = true;
      loadHistory().then(() => {
        if (state.blocked) return;
        ui.root.hidden = false;
        connect();
      });
    }
    window.addEventListener('online', reconnectSoon);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      reconnectSoon();
      if (state.open) markSeen();
    });
  }

  window.SwitchboardWidget = Object.freeze({
    open: () => openPanel(),
    close: () => closePanel(),
    get blocked() {
      return state.blocked;
    },
  });

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
