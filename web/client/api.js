/**
 * The REST API as the client sees it: config, the operator's token, and one call per endpoint.
 * Every failure becomes an ApiError carrying the problem+json `detail` to show the operator.
 */

const TOKEN_KEY = 'switchboard.id_token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  save(idToken) {
    sessionStorage.setItem(TOKEN_KEY, idToken);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor({ status = 0, code = 'error', title = 'Error', detail = '', type = 'about:blank' }) {
    super(detail || title);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail || title;
    this.type = type;
  }
}

const NETWORK_DETAIL = 'Cannot reach the server. Check your connection and try again.';

/** Reads /config.json from the page's own origin: {apiBase, wsUrl}. */
export async function loadConfig() {
  let response;
  try {
    response = await fetch('/config.json', { cache: 'no-store' });
  } catch {
    throw new Error('Could not load /config.json: the server is unreachable.');
  }
  if (!response.ok) throw new Error(`Could not load /config.json (HTTP ${response.status}).`);
  const config = await response.json();
  if (!config.apiBase || !config.wsUrl) throw new Error('/config.json must define apiBase and wsUrl.');
  return { apiBase: String(config.apiBase).replace(/\/+$/, ''), wsUrl: String(config.wsUrl) };
}

async function readBody(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

function problemFrom(response, body) {
  const problem = body && typeof body === 'object' ? body : {};
  return new ApiError({
    status: response.status,
    code: problem.code || `http_${response.status}`,
    title: problem.title || response.statusText || 'Request failed',
    detail: problem.detail || problem.message || problem.title || `Request failed (HTTP ${response.status}).`,
    type: problem.type,
  });
}

const enc = encodeURIComponent;

export class Api {
  /**
   * @param {string} apiBase e.g. "http://localhost:3000"
   * @param {{onUnauthorized: (error: ApiError) => void}} hooks called on any 401 of an authenticated call
   */
  constructor(apiBase, { onUnauthorized }) {
    this.base = apiBase;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { body, query, auth = true } = {}) {
    const url = new URL(this.base + path, location.href);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
    }
    const headers = { Accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;

    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError({ status: 0, code: 'network_error', title: 'Network error', detail: NETWORK_DETAIL });
    }
    const data = await readBody(response);
    if (response.ok) return data;
    const error = problemFrom(response, data);
    if (response.status === 401 && auth) this.onUnauthorized(error);
    throw error;
  }

  login(email, password) {
    return this.request('POST', '/v1/auth/login', { body: { email, password }, auth: false });
  }

  me() {
    return this.request('GET', '/v1/me');
  }

  savedReplies(q) {
    return this.request('GET', '/v1/saved-replies', { query: { q } });
  }

  renderSavedReply(conversationId, replyId) {
    return this.request('GET', `/v1/conversations/${enc(conversationId)}/saved-replies/${enc(replyId)}`);
  }

  /** What each channel can do (edit, receipts, text length, reply window), from GET /v1/channels. */
  channels() {
    return this.request('GET', '/v1/channels');
  }

  /** Colleagues, each with the `handle` a note mentions them by ("@anna"). */
  operators() {
    return this.request('GET', '/v1/operators');
  }

  /** The bell: {items (newest first), next_cursor, unread_count}. */
  notifications(limit = 30) {
    return this.request('GET', '/v1/notifications', { query: { limit } });
  }

  /** ids: a list of notification ids, or "all"; answers {unread_count}. */
  markNotificationsRead(ids) {
    const body = ids === 'all' ? { all: true } : { ids };
    return this.request('POST', '/v1/notifications/read', { body });
  }

  /** {preferences: {event: [channel]}, events: [{event, label, defaults}], channels}. */
  notificationPreferences() {
    return this.request('GET', '/v1/me/notification-preferences');
  }

  setNotificationPreferences(preferences) {
    return this.request('PUT', '/v1/me/notification-preferences', { body: { preferences } });
  }

  /** assignee: "me" | "unassigned" | "mine_or_unassigned" | null (all); filters: team, inbox, tag, untagged,
   * unanswered, priority, sort (see filters.js). */
  conversations({ status, assignee, cursor, limit = 25, ...filters }) {
    return this.request('GET', '/v1/conversations', { query: { status, assignee, ...filters, cursor, limit } });
  }

  conversation(id) {
    return this.request('GET', `/v1/conversations/${enc(id)}`);
  }

  olderMessages(id, cursor, limit = 50) {
    return this.request('GET', `/v1/conversations/${enc(id)}/messages`, { query: { cursor, limit } });
  }

  /** client_id makes a retry of the same reply land once. */
  sendMessage(id, text, clientId) {
    return this.request('POST', `/v1/conversations/${enc(id)}/messages`, { body: { text, client_id: clientId } });
  }

  sendNote(id, text) {
    return this.request('POST', `/v1/conversations/${enc(id)}/notes`, { body: { text } });
  }

  assign(id, assigneeId) {
    return this.request('POST', `/v1/conversations/${enc(id)}/assign`, { body: { assignee_id: assigneeId } });
  }

  /** Into "mine" if nobody has it; 409 (detail names who has it) otherwise. */
  take(id) {
    return this.request('POST', `/v1/conversations/${enc(id)}/take`, { body: {} });
  }

  /** "available" | "away": away operators get nothing from round robin. */
  setAvailability(availability) {
    return this.request('PUT', '/v1/me/availability', { body: { availability } });
  }

  resolve(id) {
    return this.request('POST', `/v1/conversations/${enc(id)}/resolve`, { body: {} });
  }

  reopen(id) {
    return this.request('POST', `/v1/conversations/${enc(id)}/reopen`, { body: {} });
  }

  /** until: {seconds: 60} or {until: "2025-01-02T09:00:00.000Z"}. */
  snooze(id, until) {
    return this.request('POST', `/v1/conversations/${enc(id)}/snooze`, { body: until });
  }

  unsnooze(id) {
    return this.request('POST', `/v1/conversations/${enc(id)}/unsnooze`, { body: {} });
  }
}
