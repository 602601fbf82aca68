/**
 * The open conversation: its header and actions, its messages (kept by id, patched live),
 * and the reply box with optimistic sending.
 */

import { el, toast, uuid } from './dom.js';
import { channelLabel, clockTime, fullTime } from './format.js';
import { assigneeMark, channelBadge, isStale } from './list.js';
import { compareMessages, mergeMessage, messageElement } from './messages.js';

const NEAR_BOTTOM_PX = 80;

// What each snooze menu item asks the API for. Presets are resolved by the server on the tenant's wall clock, so
// "tomorrow 09:00" is 09:00 where the team works, whatever the operator's own computer says.
export const SNOOZE_CHOICES = {
  '60': () => ({ seconds: 60 }),
  in_1_hour: () => ({ preset: 'in_1_hour' }),
  tomorrow_0900: () => ({ preset: 'tomorrow_0900' }),
  next_monday_0900: () => ({ preset: 'next_monday_0900' }),
  until_reply: () => ({ until_reply: true }),
};

const ACTION_DONE = {
  assign: 'Assigned to you',
  take: 'You took this conversation',
  resolve: 'Conversation resolved',
  reopen: 'Conversation reopened',
  snooze: 'Conversation snoozed',
  unsnooze: 'Conversation unsnoozed',
};

export class ConversationView {
  /**
   * @param {object} deps api, me, elements (see app.js), onRow(row) for rows returned by actions
   */
  constructor({ api, me, elements, onRow }) {
    this.api = api;
    this.me = me;
    this.els = elements;
    this.onRow = onRow;
    this.conversation = null;
    this.messages = new Map(); // key (message id, or "local:<client_id>") -> message
    this.nodes = new Map(); // key -> element
    this.olderCursor = null;
    this.loadingOlder = false;
    this.busy = false;
    this.seq = 0;
    this.drafts = new Map();
    this.bindEvents();
  }

  get id() {
    return this.conversation?.id ?? null;
  }

  bindEvents() {
    const { els } = this;
    els.assign.addEventListener('click', () => this.assignToMe());
    els.take.addEventListener('click', () => this.take());
    els.resolve.addEventListener('click', () => this.resolve());
    els.reopen.addEventListener('click', () => this.act('reopen'));
    els.unsnooze.addEventListener('click', () => this.act('unsnooze'));
    els.snooze.addEventListener('click', () => this.toggleSnoozeMenu());
    els.snoozeMenu.addEventListener('click', (event) => {
      const choice = event.target.closest('[data-snooze]');
      if (choice) this.snooze(choice.dataset.snooze);
    });
    els.snoozeMenu.addEventListener('keydown', (event) => this.onMenuKey(event));
    document.addEventListener('click', (event) => {
      if (!els.snoozeMenu.hidden && !event.target.closest('.snooze-wrap')) this.closeSnoozeMenu();
    });
    els.loadOlder.addEventListener('click', () => this.loadOlder());
    els.scroll.addEventListener('scroll', () => {
      if (els.scroll.scrollTop < 40) this.loadOlder();
    });
    els.replyForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submitReply();
    });
    els.replyText.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submitReply();
      }
    });
    els.noteToggle.addEventListener('change', () => this.renderReplyMode());
  }

  // ------------------------------------------------------------------ opening

  /** Show conversation `id`; `hint` (its list row) lets the header appear before the fetch returns. */
  async open(id, hint) {
    const seq = ++this.seq;
    this.saveDraft();
    this.conversation = hint || { id, status: '', contact: {} };
    this.messages = new Map();
    this.olderCursor = null;
    this.els.empty.hidden = true;
    this.els.pane.hidden = false;
    this.els.pane.setAttribute('aria-busy', 'true');
    this.renderHeader();
    this.renderAll();
    this.restoreDraft();
    try {
      const data = await this.api.conversation(id);
      if (seq !== this.seq) return;
      this.conversation = data.conversation;
      for (const message of data.messages?.items || []) this.store(message);
      this.olderCursor = data.messages?.next_cursor || null;
    } catch (error) {
      if (seq === this.seq && error.status !== 401) toast(`Could not open the conversation: ${error.detail}`, 'error');
    } finally {
      if (seq === this.seq) this.els.pane.removeAttribute('aria-busy');
    }
    if (seq !== this.seq) return;
    this.renderHeader();
    this.renderAll();
    this.scrollToBottom();
  }

  close() {
    this.seq++;
    this.saveDraft();
    this.conversation = null;
    this.messages = new Map();
    this.els.pane.hidden = true;
    this.els.empty.hidden = false;
    this.renderDetails();
  }

  /** Catch up after a dropped socket: newer messages merge in; a gap means starting from the newest page. */
  async refresh() {
    const id = this.id;
    if (!id) return;
    let data;
    try {
      data = await this.api.conversation(id);
    } catch (error) {
      if (error.status !== 401) toast(`Could not refresh the conversation: ${error.detail}`, 'error');
      return;
    }
    if (this.id !== id) return;
    this.applyRow(data.conversation);
    const fresh = data.messages?.items || [];
    const newest = this.newestServerMessage();
    if (newest && !fresh.some((message) => message.id === newest.id)) {
      this.keepOnlyLocal();
      this.olderCursor = data.messages?.next_cursor || null;
    }
    const stick = this.isNearBottom();
    for (const message of fresh) this.store(message);
    this.renderAll();
    if (stick) this.scrollToBottom();
  }

  async loadOlder() {
    const id = this.id;
    if (!id || !this.olderCursor || this.loadingOlder) return;
    this.loadingOlder = true;
    this.els.loadOlder.disabled = true;
    try {
      const page = await this.api.olderMessages(id, this.olderCursor);
      if (this.id !== id) return;
      const fromBottom = this.els.scroll.scrollHeight - this.els.scroll.scrollTop;
      for (const message of page.items || []) this.store(message);
      this.olderCursor = page.next_cursor || null;
      this.renderAll();
      this.els.scroll.scrollTop = this.els.scroll.scrollHeight - fromBottom;
    } catch (error) {
      if (error.status !== 401) toast(`Could not load older messages: ${error.detail}`, 'error');
    } finally {
      this.loadingOlder = false;
      this.els.loadOlder.disabled = false;
    }
  }

  // ------------------------------------------------------------------ live updates

  /** A row from the socket or an action; only the open conversation's header cares. */
  applyRow(row) {
    if (!row || row.id !== this.id || isStale(this.conversation, row)) return;
    this.conversation = row;
    this.renderHeader();
  }

  /** message.created / message.updated for any conversation; only the open one is drawn. */
  applyMessage(message, conversationId) {
    if (!message || (conversationId ?? message.conversation_id) !== this.id) return;
    const stick = this.isNearBottom();
    const isNew = !this.messages.has(message.id);
    const key = this.store(message);
    this.renderOne(key);
    if (isNew && stick) this.scrollToBottom();
  }

  /** Merge a server message in; an acknowledged message replaces its local placeholder. Returns its key. */
  store(message) {
    this.messages.set(message.id, mergeMessage(this.messages.get(message.id), message));
    const placeholder = this.placeholderFor(message);
    if (placeholder) this.dropLocal(placeholder.localKey);
    return message.id;
  }

  placeholderFor(message) {
    if (message.type !== 'outgoing' && message.type !== 'note') return null;
    for (const local of this.messages.values()) {
      if (!local.localKey) continue;
      if (message.client_id && local.client_id === message.client_id) return local;
      const sameContent = local.status === 'pending' && local.type === message.type && local.text === message.text;
      if (!message.client_id && sameContent && message.author_id === this.me.id) return local;
    }
    return null;
  }

  // ------------------------------------------------------------------ replying

  submitReply() {
    const text = this.els.replyText.value.trim();
    if (!text || !this.id) return;
    this.els.replyText.value = '';
    this.drafts.delete(this.id);
    this.send(text, this.els.noteToggle.checked);
  }

  /** Optimistic: a placeholder shows at once and is replaced by the server's message, keyed by id. */
  send(text, asNote, clientId = uuid()) {
    const localKey = `local:${clientId}`;
    const placeholder = {
      localKey,
      client_id: clientId,
      conversation_id: this.id,
      type: asNote ? 'note' : 'outgoing',
      text,
      attachments: [],
      author_id: this.me.id,
      author_name: this.me.name,
      created_at: new Date().toISOString(),
      status: 'pending',
    };
    this.messages.set(localKey, placeholder);
    this.renderOne(localKey);
    this.scrollToBottom();
    return this.deliver(placeholder);
  }

  async deliver(placeholder) {
    const { conversation_id: id, localKey } = placeholder;
    try {
      const message = placeholder.type === 'note'
        ? await this.api.sendNote(id, placeholder.text)
        : await this.api.sendMessage(id, placeholder.text, placeholder.client_id);
      if (this.id !== id) return;
      this.dropLocal(localKey);
      this.renderOne(this.store(message));
    } catch (error) {
      if (error.status === 401) return;
      toast(error.detail, 'error');
      if (this.id !== id || !this.messages.has(localKey)) return;
      this.messages.set(localKey, { ...placeholder, status: 'failed', failure_reason: `Not sent: ${error.detail}` });
      this.renderOne(localKey);
    }
  }

  retryLocal(localKey) {
    const local = this.messages.get(localKey);
    if (!local) return;
    const again = { ...local, status: 'pending', failure_reason: null };
    this.messages.set(localKey, again);
    this.renderOne(localKey);
    this.deliver(again);
  }

  dropLocal(localKey) {
    this.messages.delete(localKey);
    this.renderOne(localKey);
  }

  keepOnlyLocal() {
    for (const [key, message] of this.messages) if (!message.localKey) this.messages.delete(key);
  }

  saveDraft() {
    if (!this.id) return;
    const text = this.els.replyText.value;
    if (text.trim()) this.drafts.set(this.id, text);
    else this.drafts.delete(this.id);
  }

  restoreDraft() {
    this.els.replyText.value = this.drafts.get(this.id) || '';
  }

  focusReply() {
    if (this.id) this.els.replyText.focus();
  }

  // ------------------------------------------------------------------ actions

  /** Unassigned: take it (refused if a colleague was faster); a colleague's: reassign it to me. */
  assignToMe() {
    if (this.conversation?.assignee_id === this.me.id) return;
    if (!this.conversation?.assignee_id) this.take();
    else this.act('assign', this.me.id);
  }

  take() {
    if (this.conversation && !this.conversation.assignee_id) this.act('take');
  }

  resolve() {
    this.act('resolve');
  }

  snooze(choice) {
    const until = choice === 'custom' ? this.customSnooze() : SNOOZE_CHOICES[choice]?.();
    if (!until) return;
    this.closeSnoozeMenu();
    this.act('snooze', until);
  }

  /** The moment picked in the menu's date-time field (the operator's local time), as an instant with an offset. */
  customSnooze() {
    const field = this.els.snoozeMenu.querySelector('#snooze-custom');
    const picked = field?.value ? new Date(field.value) : null;
    if (!picked || Number.isNaN(picked.getTime())) {
      field?.focus();
      return null;
    }
    return { until: picked.toISOString() };
  }

  async act(action, ...args) {
    const id = this.id;
    if (!id || this.busy) return;
    this.setBusy(true);
    try {
      const row = await this.api[action](id, ...args);
      if (row) this.onRow(row);
      toast(ACTION_DONE[action] + (action === 'snooze' ? snoozeLabel(row) : ''));
    } catch (error) {
      if (error.status !== 401) toast(error.detail, 'error');
    } finally {
      this.setBusy(false);
    }
  }

  setBusy(busy) {
    this.busy = busy;
    if (this.conversation) this.renderButtons(this.conversation);
  }

  toggleSnoozeMenu() {
    if (this.els.snoozeMenu.hidden) this.openSnoozeMenu();
    else this.closeSnoozeMenu();
  }

  openSnoozeMenu() {
    if (!this.id) return;
    this.els.snoozeMenu.hidden = false;
    this.els.snooze.setAttribute('aria-expanded', 'true');
    this.els.snoozeMenu.querySelector('[data-snooze]')?.focus();
  }

  closeSnoozeMenu() {
    if (this.els.snoozeMenu.hidden) return false;
    this.els.snoozeMenu.hidden = true;
    this.els.snooze.setAttribute('aria-expanded', 'false');
    if (this.els.snoozeMenu.contains(document.activeElement)) this.els.snooze.focus();
    return true;
  }

  onMenuKey(event) {
    if (event.target.matches('input') && event.key !== 'Escape') return;  // arrows change the picked time
    const items = [...this.els.snoozeMenu.querySelectorAll('[data-snooze]')];
    const index = items.indexOf(document.activeElement);
    if (event.key === 'ArrowDown' || event.key === 'j') items[(index + 1) % items.length].focus();
    else if (event.key === 'ArrowUp' || event.key === 'k') items[(index - 1 + items.length) % items.length].focus();
    else if (event.key === 'Escape') this.closeSnoozeMenu();
    else return;
    event.preventDefault();
    event.stopPropagation();
  }

  // ------------------------------------------------------------------ drawing

  renderHeader() {
    const c = this.conversation;
    const { els } = this;
    if (!c) return;
    els.contact.textContent = c.contact?.name || (c.status ? 'Unknown contact' : 'Loading…');
    els.channel.replaceChildren(c.channel ? channelBadge(c.channel) : '');
    els.status.textContent = c.status || '';
    els.status.className = `status-pill status-${c.status || 'unknown'}`;
    els.snoozedUntil.textContent = c.status === 'snoozed' ? snoozeLabel(c).trim() : '';
    els.snoozedUntil.title = c.snoozed_until ? fullTime(c.snoozed_until) : '';
    els.assignee.replaceChildren(
      assigneeMark(c, this.me.id),
      el('span', { class: 'assignee-name' }, c.assignee_id ? c.assignee_name || c.assignee_id : 'Unassigned'));
    this.renderButtons(c);
    this.renderReplyMode();
    this.renderDetails();
  }

  renderButtons(c) {
    const { els } = this;
    const mine = c.assignee_id === this.me.id;
    els.assign.disabled = mine || this.busy;
    els.assign.textContent = mine ? 'Assigned to you' : 'Assign to me';
    const takeable = !c.assignee_id && c.status !== 'resolved';
    els.take.hidden = !takeable;
    els.take.disabled = this.busy;
    els.assign.hidden = takeable;
    els.resolve.hidden = c.status === 'resolved';
    els.reopen.hidden = !(c.status === 'resolved' || c.status === 'pending');
    els.unsnooze.hidden = c.status !== 'snoozed';
    els.snooze.textContent = c.status === 'snoozed' ? 'Snooze again' : 'Snooze';
    for (const button of [els.resolve, els.reopen, els.snooze, els.unsnooze]) button.disabled = this.busy;
  }

  renderReplyMode() {
    const { els } = this;
    const note = els.noteToggle.checked;
    const resolved = this.conversation?.status === 'resolved';
    els.replyForm.classList.toggle('note-mode', note);
    els.replyText.placeholder = note
      ? 'Private note — only operators see this'
      : `Reply to ${this.conversation?.contact?.name || 'the contact'} via ${channelLabel(this.conversation?.channel)}`;
    els.replySend.textContent = note ? 'Add note' : 'Send';
    const limits = !note && this.capabilities?.[this.conversation?.channel];
    els.replyText.maxLength = limits?.max_text_length || 20000;
    els.replyHint.textContent = resolved && !note
      ? 'This conversation is resolved: reopen it to reply, or add a private note.'
      : ['Enter to send · Shift+Enter for a new line', ...channelHints(limits)].join(' · ');
  }

  renderDetails() {
    const c = this.conversation;
    const rows = c ? [
      ['Contact', c.contact?.name],
      ['Channel', channelLabel(c.channel)],
      ['Inbox', c.inbox_name || c.inbox_id],
      ['Title', c.title],
      ['Priority', c.priority],
      ['Team', c.team_name || c.team_id],
      ['Created', fullTime(c.created_at)],
      ['Conversation', c.id],
    ] : [];
    this.els.details.replaceChildren(...rows.filter(([, value]) => value).flatMap(([label, value]) => [
      el('dt', {}, label),
      el('dd', {}, value),
    ]));
    this.els.detailsEmpty.hidden = Boolean(c);
    document.dispatchEvent(new CustomEvent('conversation:shown', { detail: c }));
  }

  sorted() {
    return [...this.messages.entries()].sort(([, a], [, b]) => compareMessages(a, b));
  }

  handlers() {
    return { onRetry: (key) => this.retryLocal(key), onDiscard: (key) => this.dropLocal(key) };
  }

  renderAll() {
    this.nodes = new Map();
    const nodes = this.sorted().map(([key, message]) => {
      const node = messageElement(message, this.handlers());
      this.nodes.set(key, node);
      return node;
    });
    this.els.messages.replaceChildren(...nodes);
    this.els.loadOlder.hidden = !this.olderCursor;
    this.els.noMessages.hidden = nodes.length > 0 || this.els.pane.hasAttribute('aria-busy');
  }

  /** Patch one message in place, or insert it where it belongs in time order. */
  renderOne(key) {
    const message = this.messages.get(key);
    const old = this.nodes.get(key);
    if (!message) {
      old?.remove();
      this.nodes.delete(key);
      return;
    }
    const node = messageElement(message, this.handlers());
    this.nodes.set(key, node);
    if (old) old.replaceWith(node);
    else this.insertInOrder(key, node);
    this.els.noMessages.hidden = true;
  }

  insertInOrder(key, node) {
    const keys = this.sorted().map(([k]) => k);
    for (const later of keys.slice(keys.indexOf(key) + 1)) {
      const next = this.nodes.get(later);
      if (next?.isConnected) {
        next.before(node);
        return;
      }
    }
    this.els.messages.append(node);
  }

  newestServerMessage() {
    let newest = null;
    for (const message of this.messages.values()) {
      if (!message.localKey && (!newest || compareMessages(message, newest) > 0)) newest = message;
    }
    return newest;
  }

  isNearBottom() {
    const { scroll } = this.els;
    return scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.els.scroll.scrollTop = this.els.scroll.scrollHeight;
  }
}

/** What the customer's platform will do with a reply, said plainly (GET /v1/channels). */
function channelHints(limits) {
  if (!limits) return [];
  const hints = [`up to ${limits.max_text_length.toLocaleString()} characters`];
  if (limits.reply_window_hours) hints.push(`only within ${limits.reply_window_hours} h of the customer's last message`);
  if (limits.read_receipts) hints.push('shows when it is read');
  if (!limits.can_edit) hints.push('cannot be edited once sent');
  return hints;
}

/** " until 09:00" for a timed snooze, " until the contact replies" for one without a timer. */
function snoozeLabel(row) {
  if (!row || row.status !== 'snoozed') return '';
  return row.snoozed_until ? ` until ${clockTime(row.snoozed_until)}` : ' until the contact replies';
}
