/**
 * The conversation list: the rows of the current filter, kept live by upserts from the socket,
 * in the filter's order (newest activity first by default), rendered as <li class="conversation-row" data-id="…">.
 */

import { el, toast } from './dom.js';
import { EXTRA_FILTERS, compareRows, extraQuery, matchesExtras } from './filters.js';
import {
  avatarColor, channelClass, channelLabel, clockTime, fullTime, initials, previewText, relativeTime, toDate,
} from './format.js';

export const ASSIGNEE_FILTERS = ['me', 'unassigned', 'mine_or_unassigned', 'all'];
export const STATUSES = ['open', 'pending', 'snoozed', 'resolved'];
const MAX_ROW_TAGS = 3;
const RECENT_MS = 10_000; // longer than the stream takes to bring a change into the lists

/** A row from the socket or an action is older than the one we hold: keep ours. */
export function isStale(current, incoming) {
  return Boolean(current)
    && typeof current.version === 'number'
    && typeof incoming.version === 'number'
    && incoming.version < current.version;
}

function activityTime(row) {
  return toDate(row.last_activity_at || row.created_at)?.getTime() || 0;
}

function byActivityDesc(a, b) {
  return activityTime(b) - activityTime(a) || String(b.id).localeCompare(String(a.id));
}

export class ConversationList {
  /**
   * @param {object} deps api, me (operator), elements {list, loadMore, empty}, onOpen(id), onTake(id) for a
   *   row's "Take" button
   */
  constructor({ api, me, elements, onOpen, onTake }) {
    this.api = api;
    this.me = me;
    this.els = elements;
    this.onOpen = onOpen;
    this.onTake = onTake;
    this.filter = { assignee: 'mine_or_unassigned', status: 'open', ...EXTRA_FILTERS };
    this.rows = new Map();
    this.recent = new Map(); // id -> {row, at}: rows seen live, re-applied over a freshly fetched page
    this.nextCursor = null;
    this.selectedId = null;
    this.loading = false;
    this.seq = 0;

    this.els.list.addEventListener('click', (event) => {
      const take = event.target.closest('.take-button');
      if (take && this.onTake) {
        this.onTake(take.dataset.id);
        return;
      }
      const row = event.target.closest('.conversation-row');
      if (row) this.onOpen(row.dataset.id);
    });
    this.els.loadMore.addEventListener('click', () => this.loadMore());
  }

  matches(row) {
    if (row.status !== this.filter.status || !matchesExtras(row, this.filter)) return false;
    const mine = row.assignee_id === this.me.id;
    switch (this.filter.assignee) {
      case 'me': return mine;
      case 'unassigned': return !row.assignee_id;
      case 'mine_or_unassigned': return mine || !row.assignee_id;
      default: return true;
    }
  }

  query(cursor) {
    const assignee = this.filter.assignee === 'all' ? undefined : this.filter.assignee;
    return { status: this.filter.status, assignee, ...extraQuery(this.filter), cursor, limit: 25 };
  }

  setFilter(change) {
    Object.assign(this.filter, change);
    this.rows.clear();
    this.nextCursor = null;
    this.render();
    return this.reload();
  }

  /** Forget everything (sign-out); answers still in flight are ignored. */
  reset() {
    this.seq++;
    this.rows.clear();
    this.recent.clear();
    this.nextCursor = null;
    this.selectedId = null;
    this.setLoading(false);
    this.render();
  }

  /** Fetch the first page again; `quiet` keeps the current rows on screen while it loads. */
  async reload({ quiet = false } = {}) {
    const seq = ++this.seq;
    this.setLoading(!quiet);
    try {
      const page = await this.api.conversations(this.query());
      if (seq !== this.seq) return;
      this.rows = new Map(page.items.map((row) => [row.id, row]));
      this.nextCursor = page.next_cursor || null;
      this.reapplyRecent();
    } catch (error) {
      if (seq === this.seq && error.status !== 401) toast(`Could not load conversations: ${error.detail}`, 'error');
    } finally {
      if (seq === this.seq) this.setLoading(false);
    }
    if (seq === this.seq) this.render();
  }

  async loadMore() {
    if (!this.nextCursor || this.loading) return;
    const seq = this.seq;
    this.setLoading(true);
    try {
      const page = await this.api.conversations(this.query(this.nextCursor));
      if (seq !== this.seq) return;
      for (const row of page.items) if (!this.rows.has(row.id)) this.rows.set(row.id, row);
      this.nextCursor = page.next_cursor || null;
    } catch (error) {
      if (error.status !== 401) toast(`Could not load more: ${error.detail}`, 'error');
    } finally {
      if (seq === this.seq) this.setLoading(false);
    }
    this.render();
  }

  /** A row changed somewhere (socket, an action): insert, update, or drop it if it left the filter. */
  /**
   * Lists are kept from the stream a moment after each change, so a page fetched right after a live event may not
   * show it yet: changes seen live in the last seconds are applied again on top of the fetched page.
   */
  reapplyRecent() {
    const since = Date.now() - RECENT_MS;
    for (const [id, { row, at }] of this.recent) {
      if (at < since) this.recent.delete(id);
      else if (!isStale(this.rows.get(id), row)) {
        if (this.matches(row)) this.rows.set(id, row);
        else this.rows.delete(id);
      }
    }
  }

  upsert(row) {
    this.recent.set(row.id, { row, at: Date.now() });
    const current = this.rows.get(row.id);
    if (isStale(current, row)) return;
    if (this.matches(row)) this.rows.set(row.id, row);
    else this.rows.delete(row.id);
    this.render();
  }

  ordered() {
    return [...this.rows.values()].sort(compareRows(this.filter.sort, byActivityDesc));
  }

  /** The id `delta` rows away from the selected one (j = +1, k = -1). */
  neighbour(delta) {
    const ids = this.ordered().map((row) => row.id);
    if (!ids.length) return null;
    const index = ids.indexOf(this.selectedId);
    if (index === -1) return delta > 0 ? ids[0] : ids[ids.length - 1];
    return ids[Math.min(ids.length - 1, Math.max(0, index + delta))];
  }

  select(id) {
    this.selectedId = id;
    for (const node of this.els.list.children) {
      const selected = node.dataset.id === id;
      node.classList.toggle('selected', selected);
      node.setAttribute('aria-selected', String(selected));
      if (selected) node.scrollIntoView?.({ block: 'nearest' });
    }
  }

  setLoading(loading) {
    this.loading = loading;
    this.els.list.setAttribute('aria-busy', String(loading));
    this.els.loadMore.disabled = loading;
  }

  render() {
    const now = new Date();
    const rows = this.ordered();
    this.els.list.replaceChildren(...rows.map((row) => rowElement(row, { now, meId: this.me.id, selectedId: this.selectedId })));
    this.els.empty.hidden = rows.length > 0 || this.loading;
    this.els.loadMore.hidden = !this.nextCursor;
  }
}

function rowElement(row, { now, meId, selectedId }) {
  const selected = row.id === selectedId;
  return el('li', {
    class: `conversation-row${selected ? ' selected' : ''}${row.unread_count ? ' has-unread' : ''}`,
    dataset: { id: row.id },
    role: 'option',
    'aria-selected': String(selected),
  },
  el('div', { class: 'row-top' },
    channelBadge(row.channel),
    el('span', { class: 'contact-name' }, row.contact?.name || 'Unknown contact'),
    priorityFlag(row.priority),
    timeLabel(row, now)),
  el('div', { class: 'row-bottom' },
    el('span', { class: 'preview' }, previewPrefix(row.last_message), previewText(row.last_message)),
    row.unread_count > 0
      ? el('span', { class: 'unread-badge', title: `${row.unread_count} new since the last reply` }, row.unread_count)
      : null,
    assigneeMark(row, meId),
    takeButton(row)),
  rowMarks(row));
}

/** Tags and the SLA state under the preview; nothing when there is neither. */
function rowMarks(row) {
  const tags = (row.tags || []).slice(0, MAX_ROW_TAGS).map((tag) => el('span', { class: 'row-tag' }, tag));
  const more = (row.tags || []).length > MAX_ROW_TAGS ? el('span', { class: 'row-tag' }, `+${row.tags.length - MAX_ROW_TAGS}`) : null;
  const sla = slaMark(row);
  if (!tags.length && !sla) return null;
  return el('div', { class: 'row-marks' }, sla, ...tags, more);
}

function slaMark(row) {
  if (row.sla_state === 'breached') return el('span', { class: 'sla-mark sla-breached', title: 'SLA breached' }, 'SLA breached');
  if (!row.sla_due_at) return null;
  const due = `SLA due ${clockTime(row.sla_due_at)}`;
  return el('span', { class: `sla-mark ${row.sla_state === 'warning' ? 'sla-warning' : 'sla-running'}`, title: due }, due);
}

/** "Take" on a row nobody owns: straight from the team list into mine. */
function takeButton(row) {
  if (row.assignee_id || row.status === 'resolved') return null;
  return el('button', { type: 'button', class: 'take-button ghost small', dataset: { id: row.id },
    title: 'Take it into mine' }, 'Take');
}

export function channelBadge(channel) {
  return el('span', { class: `channel-badge channel-${channelClass(channel)}`, dataset: { channel: channel || '' } },
    channelLabel(channel));
}

function priorityFlag(priority) {
  if (priority !== 'high' && priority !== 'urgent') return null;
  return el('span', { class: `priority-flag priority-${priority}` }, priority);
}

function timeLabel(row, now) {
  if (row.status === 'snoozed' && row.snoozed_until) {
    return el('time', { class: 'time snoozed', datetime: row.snoozed_until, title: `Snoozed until ${fullTime(row.snoozed_until)}` },
      `⏰ ${clockTime(row.snoozed_until, now)}`);
  }
  if (row.status === 'snoozed') {
    return el('span', { class: 'time snoozed', title: 'Snoozed until the contact replies' }, '⏰ reply');
  }
  const at = row.last_activity_at || row.created_at;
  return el('time', { class: 'time', datetime: at, title: fullTime(at) }, relativeTime(at, now));
}

function previewPrefix(lastMessage) {
  if (!lastMessage) return null;
  if (lastMessage.type === 'outgoing') return el('span', { class: 'preview-prefix' }, 'Replied: ');
  if (lastMessage.type === 'note') return el('span', { class: 'preview-prefix' }, 'Note: ');
  return null;
}

export function assigneeMark(row, meId) {
  if (!row.assignee_id) return el('span', { class: 'unassigned-mark', title: 'Nobody owns this conversation yet' }, 'unassigned');
  const name = row.assignee_id === meId ? `${row.assignee_name || 'You'} (you)` : row.assignee_name || row.assignee_id;
  return avatar(row.assignee_name || row.assignee_id, row.assignee_id, `Assigned to ${name}`);
}

export function avatar(name, key, title) {
  return el('span', { class: 'avatar', title: title || name, style: `background:${avatarColor(key)}`, 'aria-label': title || name },
    initials(name));
}
