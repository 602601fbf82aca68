/**
 * The list's filters beyond the assignee tabs and the status (team, inbox, tag, without tag, unanswered, priority,
 * sort), and the live counters beside the tabs ("Mine 4 · Unassigned 2"). Counters are re-fetched, debounced, when
 * conversation events arrive on the socket, so they follow every change without one request per event.
 */

import { el, toast } from './dom.js';

export const SORTS = [['newest', 'Newest activity'], ['longest_waiting', 'Longest waiting'], ['sla_due', 'SLA due soonest']];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
/** The filter keys this module owns, with their "no filter" values. */
export const EXTRA_FILTERS = { team: '', inbox: '', tag: '', untagged: false, unanswered: false, priority: '', sort: 'newest' };

const COUNT_DELAY_MS = 400;
/** Which counter each assignee tab shows. */
const TAB_COUNTS = { me: 'mine', unassigned: 'unassigned', mine_or_unassigned: 'mine_or_unassigned', all: 'all' };

/** The saved filter's extra keys that are still valid (a stale sessionStorage entry must not break the list). */
export function restoredExtras(saved) {
  const restored = {};
  for (const [key, fallback] of Object.entries(EXTRA_FILTERS)) {
    const value = saved?.[key];
    if (typeof value === typeof fallback) restored[key] = value;
  }
  if (!SORTS.some(([sort]) => sort === restored.sort)) delete restored.sort;
  if (restored.priority && !PRIORITIES.includes(restored.priority)) delete restored.priority;
  return restored;
}

/** The query parameters of the extra filters (defaults left out). */
export function extraQuery(filter) {
  const query = {};
  for (const key of ['team', 'inbox', 'tag', 'priority']) if (filter[key]) query[key] = filter[key];
  if (filter.untagged) query.untagged = 'true';
  if (filter.unanswered) query.unanswered = 'true';
  if (filter.sort && filter.sort !== 'newest') query.sort = filter.sort;
  return query;
}

/** Does a row (from the socket) belong in the list under the extra filters? Mirrors the server's rules. */
export function matchesExtras(row, filter) {
  if (filter.team && row.team_id !== filter.team) return false;
  if (filter.inbox && row.inbox_id !== filter.inbox) return false;
  if (filter.tag && !(row.tags || []).includes(filter.tag)) return false;
  if (filter.untagged && (row.tags || []).length) return false;
  if ((filter.unanswered || filter.sort === 'longest_waiting') && !row.waiting_since) return false;
  if (filter.priority && (row.priority || 'normal') !== filter.priority) return false;
  if (filter.sort === 'sla_due' && !row.sla_due_at) return false;
  return true;
}

function time(value) {
  return value ? Date.parse(value) || 0 : Number.POSITIVE_INFINITY;
}

/** The order the server sorts by, for rows merged in from the socket. */
export function compareRows(sort, fallback) {
  if (sort === 'longest_waiting') return (a, b) => time(a.waiting_since) - time(b.waiting_since) || fallback(a, b);
  if (sort === 'sla_due') return (a, b) => time(a.sla_due_at) - time(b.sla_due_at) || fallback(a, b);
  return fallback;
}

export class ListFilters {
  /** @param {object} deps api, container (element), onChange(change) with the changed filter keys */
  constructor({ api, container, onChange }) {
    this.api = api;
    this.container = container;
    this.onChange = onChange;
    this.teams = [];
    this.inboxes = [];
    this.tags = [];
    this.counts = null;
    this.filter = { ...EXTRA_FILTERS };
  }

  /** Teams, inboxes and the tag catalogue for the selects; the controls show at once and fill in when loaded. */
  async load(filter) {
    this.render(filter);
    try {
      const [teams, inboxes, tags] = await Promise.all([
        this.api.request('GET', '/v1/teams'), this.api.request('GET', '/v1/inboxes'), this.api.request('GET', '/v1/tags'),
      ]);
      this.teams = teams.items || [];
      this.inboxes = inboxes.items || [];
      this.tags = tags.items || [];
    } catch (error) {
      if (error.status !== 401) toast(`Could not load the list filters: ${error.detail}`, 'error');
    }
    this.render(this.filter);
  }

  /** Counts from GET /v1/conversations/counts, shown next to the options they belong to. */
  showCounts(counts) {
    this.counts = counts;
    if (!this.container.contains(document.activeElement)) this.render(this.filter);
  }

  render(filter) {
    this.filter = { ...EXTRA_FILTERS, ...restoredExtras(filter) };
    const counts = this.counts || {};
    const f = this.filter;
    this.container.replaceChildren(
      this.select('team', 'Team', [['', 'Any team'], ...this.teams.map((t) => [t.id, label(t.name, counts.teams?.[t.id])])]),
      this.select('inbox', 'Inbox', [['', 'Any inbox'],
        ...this.inboxes.map((i) => [i.id, label(i.name || i.channel, counts.inboxes?.[i.id])])]),
      this.select('tag', 'Tag', [['', 'Any tag'], ...this.tags.map((tag) => [tag, tag])], f.untagged),
      this.toggle('untagged', label('Without tag', counts.untagged)),
      this.toggle('unanswered', label('Unanswered', counts.unanswered)),
      this.select('priority', 'Priority', [['', 'Any priority'],
        ...PRIORITIES.map((p) => [p, label(p, counts.priorities?.[p])])]),
      this.select('sort', 'Sort', SORTS),
    );
  }

  select(key, title, options, disabled = false) {
    const node = el('select', { class: 'list-filter', 'aria-label': title, dataset: { filter: key }, disabled,
      onchange: (event) => this.change({ [key]: event.target.value }) },
    ...options.map(([value, text]) => el('option', { value, selected: this.filter[key] === value }, text)));
    return node;
  }

  toggle(key, text) {
    return el('label', { class: 'list-toggle' },
      el('input', { type: 'checkbox', dataset: { filter: key }, checked: Boolean(this.filter[key]),
        onchange: (event) => this.change({ [key]: event.target.checked, ...(key === 'untagged' ? { tag: '' } : {}) }) }),
      ` ${text}`);
  }

  change(change) {
    Object.assign(this.filter, change);
    this.onChange(change);
  }
}

function label(text, count) {
  return typeof count === 'number' ? `${text} (${count})` : text;
}

export class Counters {
  /**
   * @param {object} deps api, tabs (the .filter-tab buttons), status() the list's status, onCounts(counts) to
   *   share them (the filter controls show some)
   */
  constructor({ api, tabs, status, onCounts }) {
    this.api = api;
    this.tabs = [...tabs];
    this.status = status;
    this.onCounts = onCounts;
    this.timer = null;
    this.seq = 0;
  }

  /** Re-fetch soon; a burst of socket events makes one request. */
  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), COUNT_DELAY_MS);
  }

  async refresh() {
    clearTimeout(this.timer);
    const seq = ++this.seq;
    try {
      const counts = await this.api.request('GET', '/v1/conversations/counts', { query: { status: this.status() } });
      if (seq === this.seq) this.render(counts);
    } catch {
      // Counters are a hint; the list itself still works. The next event tries again.
    }
  }

  render(counts) {
    for (const tab of this.tabs) {
      const value = counts?.[TAB_COUNTS[tab.dataset.assignee]];
      let badge = tab.querySelector('.tab-count');
      if (!badge) {
        badge = el('span', { class: 'tab-count' });
        tab.append(badge);
      }
      badge.textContent = typeof value === 'number' ? String(value) : '';
      badge.hidden = typeof value !== 'number';
    }
    this.onCounts?.(counts);
  }

  reset() {
    clearTimeout(this.timer);
    this.seq++;
    this.render(null);
  }
}
