/**
 * The operator client's composition root: config, sign-in, the live socket, and the wiring between
 * the conversation list, the open conversation and the keyboard.
 */

import { Api, loadConfig, session } from './api.js';
import { mountContacts } from './contact.js';
import { AvailabilityToggle, takeConversation } from './distribution.js';
import { $, isTypingTarget, toast } from './dom.js';
import { Counters, ListFilters, restoredExtras } from './filters.js';
import { avatarColor, initials } from './format.js';
import { ASSIGNEE_FILTERS, ConversationList, STATUSES, isStale } from './list.js';
import { LiveSocket } from './live.js';
import { MentionSuggest } from './mentions.js';
import { NotificationCenter } from './notifications.js';
import { askPermission, permissionPending } from './notify.js';
import { SavedReplies } from './saved.js';
import { ConversationSettings } from './settings.js';
import { ConversationView } from './thread.js';

const TYPING_EVERY_MS = 3000;
const PRESENCE_SHOWN_MS = 6000;
const FILTER_KEY = 'switchboard.filter';
const CLOCK_REFRESH_MS = 30 * 1000;
const WS_LABELS = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' };

const app = {
  config: null,
  api: null,
  me: null,
  list: null,
  view: null,
  live: null,
  known: new Map(), // every row seen this session, for notifications about rows outside the filter
};

// ------------------------------------------------------------------ screens

function show(screen) {
  $('#boot-screen').hidden = screen !== 'boot';
  $('#login-view').hidden = screen !== 'login';
  $('#app-view').hidden = screen !== 'app';
}

function showFatal(message) {
  show('boot');
  $('#boot-message').textContent = message;
  $('#boot-retry').hidden = false;
}

function showLogin(message = '') {
  show('login');
  const error = $('#login-error');
  error.textContent = message;
  error.hidden = !message;
  $('#login-submit').disabled = false;
  $('#login-email').focus();
}

// ------------------------------------------------------------------ session

async function onLoginSubmit(event) {
  event.preventDefault();
  const email = $('#login-email').value.trim();
  const password = $('#login-password').value;
  if (!email || !password) {
    showLogin('Enter your e-mail and password.');
    return;
  }
  $('#login-submit').disabled = true;
  try {
    const result = await app.api.login(email, password);
    session.save(result.id_token);
    $('#login-password').value = '';
    askPermission().then(renderNotifyButton);
    await startSession(result.operator);
  } catch (error) {
    showLogin(error.detail || 'Sign-in failed.');
  }
}

/** With a token in hand: who am I, then the list, the socket, and the conversation in the URL. */
async function startSession(fallbackOperator) {
  let me;
  try {
    me = await app.api.me();
  } catch (error) {
    if (error.status === 401) return;
    if (!fallbackOperator) {
      showLogin(error.detail);
      return;
    }
    me = fallbackOperator;
  }
  app.me = me;
  ensureControllers();
  app.list.me = me;
  app.view.me = me;
  renderMe(me);
  app.availability.show(me.availability);
  show('app');
  renderNotifyButton();
  restoreFilter();
  app.list.reload();
  app.filters.load(app.list.filter);
  app.counters.refresh();
  app.api.channels()
    .then((answer) => {
      app.view.capabilities = capabilitiesByChannel(answer);
      app.view.renderReplyMode();
    })
    .catch(() => {}); // without them the reply box simply shows no channel hints
  startLive();
  const fromUrl = decodeURIComponent(location.hash.slice(1));
  if (fromUrl) openConversation(fromUrl);
}

function capabilitiesByChannel(answer) {
  return Object.fromEntries((answer.items || []).map((item) => [item.channel, item.capabilities]));
}

/** Logout, or any 401: drop the token and everything it showed. */
function signOut(message) {
  app.contacts?.close();
  app.live?.stop();
  app.live = null;
  session.clear();
  app.me = null;
  app.known.clear();
  if (app.view?.id) app.view.close();
  app.list?.reset();
  app.counters?.reset();
  app.notifications?.reset();
  history.replaceState(null, '', location.pathname + location.search);
  showLogin(message);
}

function renderMe(me) {
  $('#me-name').textContent = me.name || me.email || 'Operator';
  $('#me-tenant').textContent = [me.tenant?.name, me.role].filter(Boolean).join(' · ');
  const avatar = $('#me-avatar');
  avatar.textContent = initials(me.name || me.email);
  avatar.style.background = avatarColor(me.id);
  $('#me').title = me.email || '';
}

function renderNotifyButton() {
  $('#notify-button').hidden = !permissionPending();
}

// ------------------------------------------------------------------ list and conversation

function ensureControllers() {
  if (app.list) return;
  app.list = new ConversationList({
    api: app.api,
    me: app.me,
    elements: { list: $('#conversation-list'), loadMore: $('#load-more'), empty: $('#list-empty') },
    onOpen: openConversation,
    onTake: (id) => takeConversation(app.api, id, upsertRow),
  });
  app.availability = new AvailabilityToggle(app.api, $('#availability-toggle'));
  app.filters = new ListFilters({ api: app.api, container: $('#list-filters'), onChange: setFilter });
  app.counters = new Counters({ api: app.api, tabs: document.querySelectorAll('.filter-tab'),
    status: () => app.list.filter.status, onCounts: (counts) => app.filters.showCounts(counts) });
  app.view = new ConversationView({
    api: app.api,
    me: app.me,
    elements: viewElements(),
    onRow: upsertRow,
  });
  app.settings = new ConversationSettings({ api: app.api, container: $('#conv-settings'), onRow: upsertRow });
  app.contacts = mountContacts({ api: app.api, openConversation });
  app.saved = new SavedReplies(app.api, $('#reply-text'), $('#saved-replies'), () => app.view.id);
  app.notifications = new NotificationCenter({
    api: app.api, elements: notificationElements(), onOpen: openConversation,
  });
  app.mentions = new MentionSuggest(app.api, $('#reply-text'), $('#mention-suggestions'), {
    isNote: () => $('#note-toggle').checked, meId: () => app.me?.id,
  });
  $('#reply-text').addEventListener('input', announceTyping);
  setInterval(() => app.me && app.list.render(), CLOCK_REFRESH_MS);
}

function notificationElements() {
  return {
    button: $('#notifications-button'),
    badge: $('#notifications-badge'),
    panel: $('#notifications-panel'),
    list: $('#notifications-list'),
    empty: $('#notifications-empty'),
    readAll: $('#notifications-read-all'),
    prefsButton: $('#notification-prefs-button'),
    prefs: $('#notification-prefs'),
    prefsForm: $('#notification-prefs-form'),
    prefsTable: $('#notification-prefs-table'),
    prefsCancel: $('#notification-prefs-cancel'),
    prefsHint: $('#notification-prefs-hint'),
  };
}

function viewElements() {
  return {
    pane: $('#conversation-view'),
    empty: $('#empty-state'),
    contact: $('#conv-contact'),
    channel: $('#conv-channel'),
    status: $('#conv-status'),
    snoozedUntil: $('#conv-snoozed-until'),
    assignee: $('#conv-assignee'),
    assign: $('#btn-assign'),
    take: $('#btn-take'),
    resolve: $('#btn-resolve'),
    reopen: $('#btn-reopen'),
    snooze: $('#btn-snooze'),
    snoozeMenu: $('#snooze-menu'),
    unsnooze: $('#btn-unsnooze'),
    scroll: $('#messages-scroll'),
    messages: $('#messages'),
    noMessages: $('#no-messages'),
    loadOlder: $('#load-older'),
    replyForm: $('#reply-form'),
    replyText: $('#reply-text'),
    replySend: $('#reply-send'),
    replyHint: $('#reply-hint'),
    noteToggle: $('#note-toggle'),
    details: $('#details'),
    detailsEmpty: $('#details-empty'),
  };
}

function openConversation(id) {
  if (!id || !app.me) return;
  app.list.select(id);
  if (app.view.id === id) return;
  clearPresence();
  app.live?.send({ action: 'viewing', conversation_id: id });
  history.replaceState(null, '', `#${encodeURIComponent(id)}`);
  app.view.open(id, app.list.rows.get(id) || app.known.get(id));
}

function moveSelection(delta) {
  const id = app.list.neighbour(delta);
  if (id) openConversation(id);
}

/** A row changed (socket frame or action result): remember it, update the list and the open header. */
function upsertRow(row) {
  if (!row?.id || isStale(app.known.get(row.id), row)) return; // an older version than one already seen
  app.known.set(row.id, row);
  app.list.upsert(row);
  app.view.applyRow(row);
}

// ------------------------------------------------------------------ filters

function restoreFilter() {
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(FILTER_KEY) || '{}');
  } catch {
    saved = {};
  }
  if (ASSIGNEE_FILTERS.includes(saved.assignee)) app.list.filter.assignee = saved.assignee;
  if (STATUSES.includes(saved.status)) app.list.filter.status = saved.status;
  Object.assign(app.list.filter, restoredExtras(saved));
  renderFilter();
}

function setFilter(change) {
  app.list.setFilter(change);
  sessionStorage.setItem(FILTER_KEY, JSON.stringify(app.list.filter));
  renderFilter();
  if ('status' in change) app.counters.refresh(); // the counters count the status on screen
}

function renderFilter() {
  for (const tab of document.querySelectorAll('.filter-tab')) {
    const active = tab.dataset.assignee === app.list.filter.assignee;
    tab.classList.toggle('active', active);
    tab.setAttribute('aria-selected', String(active));
  }
  $('#status-filter').value = app.list.filter.status;
  app.filters?.render(app.list.filter);
}

// ------------------------------------------------------------------ live

function startLive() {
  app.live?.stop();
  const url = new URL(app.config.wsUrl, location.href);
  url.searchParams.set('token', session.token);
  app.live = new LiveSocket(url.href, {
    onFrame: handleFrame,
    onStatus: renderSocketStatus,
    // A reopen follows missed events: ask the server's catch-up feed for them (in order, only what this operator
    // may see); if it cannot give them all, or the very first time, fetch what is on screen again.
    onOpen: ({ reconnect }) => {
      app.notifications.load(); // the bell as the server keeps it: nothing missed while the socket was down
      if (reconnect && app.lastSeq && app.live.send({ action: 'catch_up', since: app.lastSeq })) return;
      reloadScreen();
    },
    // A socket that keeps failing may mean an expired token; a 401 here signs out.
    onTrouble: () => app.api.me().catch(() => {}),
  });
  app.live.start();
}

function renderSocketStatus(state) {
  const node = $('#ws-status');
  node.textContent = WS_LABELS[state] || state;
  node.className = `ws-status ${state}`;
}

// ------------------------------------------------------------------ presence: who else is here, who is typing

let lastTyping = 0;
let presenceTimer = null;

/** Tell colleagues we are typing in the open conversation, at most every few seconds. */
function announceTyping() {
  const now = Date.now();
  if (!app.view.id || now - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = now;
  app.live?.send({ action: 'typing', conversation_id: app.view.id });
}

function showPresence(frame) {
  if (frame.conversation_id !== app.view?.id) return;
  const who = frame.operator_name || 'A colleague';
  $('#conv-presence').textContent = frame.state === 'typing' ? `${who} is typing…` : `${who} is viewing`;
  clearTimeout(presenceTimer);
  presenceTimer = setTimeout(clearPresence, PRESENCE_SHOWN_MS);
}

function clearPresence() {
  clearTimeout(presenceTimer);
  $('#conv-presence').textContent = '';
}

function reloadScreen() {
  app.list.reload({ quiet: true });
  app.view.refresh();
  app.counters.schedule();
}

function handleFrame(frame) {
  if (frame.seq && (!app.lastSeq || frame.seq > app.lastSeq)) app.lastSeq = frame.seq;
  switch (frame.type) {
    case 'typing':
    case 'presence':
      showPresence(frame);
      break;
    case 'caught_up':
      if (!frame.complete) reloadScreen(); // more was missed than the feed keeps
      break;
    case 'conversation.created':
    case 'conversation.updated':
    case 'conversation.assigned':
      upsertRow(frame.conversation);
      app.counters.schedule(); // counts follow every change, one request per burst of events
      break;
    case 'message.created':
      app.view.applyMessage(frame.message, frame.conversation_id);
      break;
    case 'message.updated':
      app.view.applyMessage(frame.message, frame.conversation_id);
      break;
    case 'notification': // the bell, and a browser notification if the operator chose one for this event
      app.notifications.receive(frame.notification);
      break;
    default:
      break;
  }
}

// ------------------------------------------------------------------ keyboard

const SHORTCUTS = {
  j: () => moveSelection(1),
  k: () => moveSelection(-1),
  a: () => app.view.assignToMe(),
  t: () => app.view.take(),
  e: () => app.view.resolve(),
  s: () => app.view.openSnoozeMenu(),
  r: () => app.view.focusReply(),
};

function onKeydown(event) {
  if (!app.me || $('#app-view').hidden) return;
  if (event.key === 'Escape') {
    if (app.view.closeSnoozeMenu()) return;
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || isTypingTarget(event.target)) return;
  const action = SHORTCUTS[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

// ------------------------------------------------------------------ boot

function bindChrome() {
  $('#login-form').addEventListener('submit', onLoginSubmit);
  $('#logout-button').addEventListener('click', () => signOut('You are signed out.'));
  $('#notify-button').addEventListener('click', () => askPermission().then(renderNotifyButton));
  $('#filter-tabs').addEventListener('click', (event) => {
    const tab = event.target.closest('.filter-tab');
    if (tab) setFilter({ assignee: tab.dataset.assignee });
  });
  $('#status-filter').addEventListener('change', (event) => setFilter({ status: event.target.value }));
  $('#boot-retry').addEventListener('click', () => location.reload());
  document.addEventListener('keydown', onKeydown);
}

async function boot() {
  try {
    app.config = await loadConfig();
  } catch (error) {
    showFatal(error.message);
    return;
  }
  app.api = new Api(app.config.apiBase, {
    onUnauthorized: (error) => {
      if (app.me || session.token) signOut(`Your session has ended — please sign in again. (${error.detail})`);
    },
  });
  bindChrome();
  if (session.token) await startSession(null);
  else showLogin();
}

// The one global: a read-only handle for debugging and browser tests.
window.Switchboard = Object.freeze({ app });

boot().catch((error) => {
  console.error(error);
  toast(`Something went wrong: ${error.message}`, 'error');
});
