/**
 * The contact card, in a side sheet opened from the conversation (or from the contact search box): identities,
 * editable fields and attributes, tags, notes, every conversation across channels, the timeline (messages, status
 * changes, page views and other events, newest first), Block/Unblock and merge suggestions.
 * It finds its own elements (see index.html) and listens for `conversation:shown` (thread.js).
 */

import { el, toast } from './dom.js';
import { channelLabel, fullTime, relativeTime } from './format.js';

const enc = encodeURIComponent;
const SEARCH_DEBOUNCE_MS = 250;
const TIMELINE_PAGE = 25;
const DRAFTS = ['#contact-note-text', '#contact-tag-input'];
const FIELDS = [['name', 'Name', 'text'], ['email', 'E-mail', 'email'], ['phone', 'Phone', 'tel'],
  ['language', 'Language', 'text']];

/** Mounts the search box and the card; `openConversation(id)` opens a conversation of the card. */
export function mountContacts({ api, openConversation }) {
  const panel = new ContactPanel({ api, root: document.getElementById('contact-panel'), openConversation });
  const search = new ContactSearch({
    api,
    input: document.getElementById('contact-search'),
    results: document.getElementById('contact-results'),
    onPick: (id) => panel.open(id),
  });
  const button = document.getElementById('open-contact');
  document.addEventListener('conversation:shown', (event) => {
    const contactId = event.detail?.contact?.id;
    button.hidden = !contactId;
    button.dataset.contactId = contactId || '';
  });
  button.addEventListener('click', () => button.dataset.contactId && panel.open(button.dataset.contactId));
  return { panel, search, close: () => panel.close() };
}

// ------------------------------------------------------------------ search

export class ContactSearch {
  constructor({ api, input, results, onPick }) {
    Object.assign(this, { api, input, results, onPick, timer: null, seq: 0, cursor: null, query: '' });
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(input.value.trim()), SEARCH_DEBOUNCE_MS);
    });
    document.addEventListener('click', (event) => {
      if (!event.target.closest('.contact-search')) this.results.hidden = true;
    });
    input.addEventListener('focus', () => {
      if (this.results.childElementCount) this.results.hidden = false;
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.clear();
      if (event.key === 'Enter') {
        event.preventDefault();
        const first = this.results.querySelector('[data-contact-id]');
        if (first) this.pick(first.dataset.contactId);
      }
    });
  }

  async search(query, more = false) {
    const seq = ++this.seq;
    if (!query) {
      this.clear();
      return;
    }
    try {
      const page = await this.api.request('GET', '/v1/contacts', {
        query: { q: query, limit: 10, cursor: more ? this.cursor : undefined },
      });
      if (seq !== this.seq) return;
      this.query = query;
      this.cursor = page.next_cursor || null;
      this.render(page.items || [], more);
    } catch (error) {
      if (seq !== this.seq || error.status === 401) return;
      this.results.replaceChildren(el('li', { class: 'contact-result muted' }, error.detail));
      this.results.hidden = false;
    }
  }

  render(items, append) {
    const rows = items.map((contact) => el('li', {},
      el('button', {
        type: 'button', class: 'contact-result', dataset: { contactId: contact.id },
        onclick: () => this.pick(contact.id),
      },
      el('span', { class: 'contact-result-name' }, contact.name || 'Unnamed contact'),
      el('span', { class: 'muted' }, [contact.phone, contact.email].filter(Boolean).join(' · ')),
      contact.blocked ? el('span', { class: 'blocked-pill' }, 'blocked') : null)));
    if (!append) this.results.replaceChildren();
    this.results.querySelector('.contact-more')?.remove();
    this.results.append(...rows);
    if (!append && !rows.length) this.results.append(el('li', { class: 'contact-result muted' }, 'No contacts found.'));
    if (this.cursor) {
      this.results.append(el('li', { class: 'contact-more' },
        el('button', { type: 'button', class: 'ghost small', onclick: () => this.search(this.query, true) },
          'More results')));
    }
    this.results.hidden = false;
  }

  pick(id) {
    this.clear();
    this.onPick(id);
  }

  clear() {
    this.seq++;
    this.input.value = '';
    this.results.replaceChildren();
    this.results.hidden = true;
  }
}

// ------------------------------------------------------------------ the card

export class ContactPanel {
  constructor({ api, root, openConversation }) {
    Object.assign(this, { api, root, openConversation, card: null, timeline: [], cursor: null, seq: 0 });
    root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.close();
    });
  }

  get id() {
    return this.card?.id ?? null;
  }

  async open(id) {
    const seq = ++this.seq;
    this.root.hidden = false;
    this.root.setAttribute('aria-busy', 'true');
    try {
      const [card, timeline] = await Promise.all([
        this.api.request('GET', `/v1/contacts/${enc(id)}`),
        this.api.request('GET', `/v1/contacts/${enc(id)}/timeline`, { query: { limit: TIMELINE_PAGE } }),
      ]);
      if (seq !== this.seq) return;
      this.card = card;
      this.timeline = timeline.items || [];
      this.cursor = timeline.next_cursor || null;
      this.render();
      this.root.querySelector('.contact-close')?.focus();
    } catch (error) {
      if (seq !== this.seq) return;
      if (error.status !== 401) toast(`Could not open the contact: ${error.detail}`, 'error');
      this.close();
    } finally {
      if (seq === this.seq) this.root.removeAttribute('aria-busy');
    }
  }

  close() {
    this.seq++;
    this.card = null;
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  /**
   * Run a change, then draw the card it answers with and the timeline once (block, merge and status lines show
   * there). `done` is said after drawing. Errors (a 400 carries the reason) become a toast.
   */
  async change(method, path, body, done) {
    const id = this.id;
    try {
      const card = await this.api.request(method, `/v1/contacts/${enc(id)}${path}`, { body });
      const page = await this.api.request('GET', `/v1/contacts/${enc(id)}/timeline`, { query: { limit: TIMELINE_PAGE } });
      if (id !== this.id) return; // closed, or another card opened meanwhile
      if (card?.id) this.card = card;
      this.timeline = page.items || [];
      this.cursor = page.next_cursor || null;
      this.render();
      if (done) toast(done);
    } catch (error) {
      if (error.status !== 401) toast(error.detail, 'error');
    }
  }

  async loadMoreTimeline() {
    const id = this.id;
    try {
      const page = await this.api.request('GET', `/v1/contacts/${enc(id)}/timeline`,
        { query: { limit: TIMELINE_PAGE, cursor: this.cursor } });
      if (id !== this.id) return;
      this.timeline.push(...(page.items || []));
      this.cursor = page.next_cursor || null;
      this.render();
    } catch (error) {
      if (error.status !== 401) toast(`Could not load the timeline: ${error.detail}`, 'error');
    }
  }

  render() {
    const c = this.card;
    const drafts = DRAFTS.map((selector) => [selector, this.root.querySelector(selector)?.value]);
    this.root.replaceChildren(...[
      this.header(c),
      section('Details', this.fieldsForm(c)),
      section('Identities', el('ul', { class: 'contact-list', id: 'contact-identities' },
        ...c.identities.map((identity) => el('li', {},
          el('span', { class: 'channel-badge' }, channelLabel(identity.channel)), ' ',
          identity.inbox_name || identity.inbox_id, el('span', { class: 'muted' }, ` · ${identity.source_id}`))))),
      section('Attributes', this.attributesForm(c)),
      section('Tags', this.tagsField(c)),
      section('Notes', this.notes(c)),
      section('Conversations', this.conversations(c)),
      c.merge_suggestions.length ? section('Merge suggestions', this.suggestions(c)) : null,
      section('Timeline', this.timelineList()),
    ].filter(Boolean));
    for (const [selector, value] of drafts) { // what the operator is typing survives another save's redraw
      const input = this.root.querySelector(selector);
      if (input && value) input.value = value;
    }
  }

  header(c) {
    const block = c.blocked
      ? el('button', { type: 'button', id: 'contact-unblock', onclick: () => this.change('POST', '/unblock', {}, 'Contact unblocked') }, 'Unblock')
      : el('button', {
        type: 'button', id: 'contact-block', class: 'danger', title: 'Hide chat: messages are kept but open no conversation',
        onclick: () => this.change('POST', '/block', {}, 'Contact blocked'),
      }, 'Block');
    return el('header', { class: 'contact-head' },
      el('h2', { id: 'contact-name' }, c.name || 'Unnamed contact'),
      c.blocked ? el('span', { class: 'blocked-pill', id: 'contact-blocked' }, 'blocked') : null,
      el('span', { class: 'spacer' }),
      block,
      el('button', { type: 'button', class: 'ghost contact-close', 'aria-label': 'Close the contact card', onclick: () => this.close() }, '×'));
  }

  fieldsForm(c) {
    const inputs = FIELDS.map(([name, label, type]) => ({
      name, label, input: el('input', { type, id: `contact-field-${name}`, value: c[name] || '', placeholder: label }),
    }));
    // novalidate: the server's reason ("… is not an e-mail address") is the one message for every client.
    const form = el('form', { class: 'contact-form', id: 'contact-fields', novalidate: true },
      ...inputs.map(({ label, input }) => el('label', {}, el('span', { class: 'muted' }, label), input)),
      el('button', { type: 'submit', class: 'small', id: 'contact-fields-save' }, 'Save'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = {};
      for (const { name, input } of inputs) {
        const value = input.value.trim();
        if (value !== (c[name] || '')) body[name] = value || null;
      }
      if (Object.keys(body).length) this.change('PATCH', '', body, 'Contact saved');
    });
    return form;
  }

  attributesForm(c) {
    const rows = el('div', { class: 'attribute-rows', id: 'contact-attributes' });
    const addRow = (key = '', value = '') => {
      const row = el('div', { class: 'attribute-row' },
        el('input', { type: 'text', class: 'attribute-key', value: key, placeholder: 'key', 'aria-label': 'Attribute name' }),
        el('input', { type: 'text', class: 'attribute-value', value, placeholder: 'value', 'aria-label': 'Attribute value' }),
        el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${key || 'attribute'}`, onclick: () => row.remove() }, '×'));
      rows.append(row);
    };
    Object.entries(c.attributes || {}).forEach(([key, value]) => addRow(key, String(value)));
    const form = el('form', { class: 'contact-form' }, rows,
      el('div', { class: 'attribute-actions' },
        el('button', { type: 'button', class: 'ghost small', onclick: () => addRow() }, 'Add attribute'),
        el('button', { type: 'submit', class: 'small', id: 'contact-attributes-save' }, 'Save')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const changed = attributeChanges(c.attributes || {}, rows);
      if (Object.keys(changed).length) this.change('PATCH', '', { attributes: changed }, 'Attributes saved');
    });
    return form;
  }

  tagsField(c) {
    const tags = c.tags || [];
    const input = el('input', { type: 'text', id: 'contact-tag-input', placeholder: 'Add a tag', 'aria-label': 'Add a tag' });
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || !input.value.trim()) return;
      event.preventDefault();
      const tag = input.value.trim();
      input.value = '';
      this.change('PATCH', '', { tags: [...tags, tag] });
    });
    return el('div', { class: 'chips', id: 'contact-tags' },
      ...tags.map((tag) => el('span', { class: 'chip' }, tag,
        el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove tag ${tag}`,
          onclick: () => this.change('PATCH', '', { tags: tags.filter((t) => t !== tag) }) }, '×'))),
      input);
  }

  notes(c) {
    const text = el('textarea', { rows: '2', id: 'contact-note-text', placeholder: 'A note about this person', 'aria-label': 'Note' });
    const form = el('form', { class: 'contact-form' }, text, el('button', { type: 'submit', class: 'small' }, 'Add note'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const id = this.id;
      try {
        await this.api.request('POST', `/v1/contacts/${enc(id)}/notes`, { body: { text: text.value } });
        const card = await this.api.request('GET', `/v1/contacts/${enc(id)}`);
        if (id !== this.id) return;
        this.card = card;
        this.root.querySelector('#contact-note-text').value = ''; // added: not a draft to keep any more
        this.render();
      } catch (error) {
        if (error.status !== 401) toast(error.detail, 'error');
      }
    });
    return el('div', {}, form, el('ul', { class: 'contact-list', id: 'contact-notes' },
      ...c.notes.map((note) => el('li', { class: 'contact-note' }, el('p', {}, note.text),
        el('span', { class: 'muted' }, `${note.author_name || 'Someone'} · ${fullTime(note.created_at)}`)))));
  }

  conversations(c) {
    if (!c.conversations.length) return el('p', { class: 'muted' }, 'No conversations you may see.');
    return el('ul', { class: 'contact-list', id: 'contact-conversations' },
      ...c.conversations.map((row) => el('li', {},
        el('button', {
          type: 'button', class: 'contact-conversation', dataset: { id: row.id },
          onclick: () => {
            this.close();
            this.openConversation(row.id);
          },
        },
        el('span', { class: 'channel-badge' }, channelLabel(row.channel)), ' ',
        el('span', { class: 'status-pill' }, row.status), ' ',
        el('span', {}, row.last_message?.text || ''),
        el('span', { class: 'muted' }, ` · ${relativeTime(row.last_activity_at)}`)))));
  }

  suggestions(c) {
    return el('ul', { class: 'contact-list', id: 'contact-merge-suggestions' },
      ...c.merge_suggestions.map((other) => el('li', {},
        `${other.name || 'Unnamed contact'} `, el('span', { class: 'muted' }, `(${other.reason}) `),
        el('button', {
          type: 'button', class: 'small', onclick: () => this.change('POST', '/merge', { other_contact_id: other.id }, 'Contacts merged'),
        }, 'Merge into this contact'))));
  }

  timelineList() {
    return el('div', {},
      el('ol', { class: 'contact-timeline', id: 'contact-timeline' }, ...this.timeline.map(timelineEntry)),
      this.cursor ? el('button', { type: 'button', class: 'ghost small', id: 'contact-timeline-more', onclick: () => this.loadMoreTimeline() }, 'Older') : null);
  }
}

function section(title, body) {
  return el('section', { class: 'contact-section' }, el('h3', {}, title), body);
}

/** Only the attributes the operator changed: edited values, new keys, and removed keys (as null). */
function attributeChanges(before, rows) {
  const after = {};
  for (const row of rows.querySelectorAll('.attribute-row')) {
    const key = row.querySelector('.attribute-key').value.trim();
    if (key) after[key] = row.querySelector('.attribute-value').value;
  }
  const changed = {};
  for (const [key, value] of Object.entries(after)) {
    if (String(before[key] ?? '') !== value || !(key in before)) changed[key] = typed(value, before[key]);
  }
  for (const key of Object.keys(before)) if (!(key in after)) changed[key] = null;
  return changed;
}

/** Numbers and true/false stay what they were when the operator types the same kind of value. */
function typed(value, previous) {
  if (typeof previous === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (typeof previous === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function timelineEntry(entry) {
  if (entry.kind === 'event') {
    const { event } = entry;
    const what = event.title || event.url || Object.entries(event.data || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
    return el('li', { class: 'timeline-entry timeline-event', dataset: { id: entry.id } },
      el('span', { class: 'timeline-kind' }, event.type.replace(/_/g, ' ')), ' ',
      el('span', {}, what || ''),
      el('time', { class: 'muted', datetime: entry.at }, ` · ${fullTime(entry.at)}`));
  }
  const { message } = entry;
  // Own class names: the thread's .message/.incoming styles must not apply here.
  const kind = `timeline-entry timeline-${message.type}${entry.hidden ? ' timeline-hidden' : ''}`;
  return el('li', { class: kind, dataset: { id: entry.id } },
    el('span', { class: 'timeline-kind' }, message.type === 'activity' ? '•' : message.type), ' ',
    el('span', {}, message.text || '(attachment)'),
    entry.hidden ? el('span', { class: 'blocked-pill' }, 'while blocked') : null,
    el('time', { class: 'muted', datetime: entry.at }, ` · ${fullTime(entry.at)}`));
}
