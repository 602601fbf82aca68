/**
 * The open conversation's settings in the details pane: title, priority, request type, reasons, components,
 * tags (from the tenant's catalogue, which only grows), participants, and "wait for the customer" (pending).
 * It listens for `conversation:shown` (thread.js) and reports changed rows through onRow.
 */

import { el, toast } from './dom.js';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const enc = encodeURIComponent;

export class ConversationSettings {
  /** @param {object} deps api, container (element), onRow(row) */
  constructor({ api, container, onRow }) {
    this.api = api;
    this.container = container;
    this.colleagues = [];
    this.onRow = onRow;
    this.conversation = null;
    this.catalogues = { request_types: [], reasons: [], components: [] };
    this.tags = [];
    document.addEventListener('conversation:shown', (event) => this.show(event.detail));
    this.loadCatalogues();
  }

  async loadCatalogues() {
    try {
      const [catalogues, tags, operators] = await Promise.all([
        this.api.request('GET', '/v1/dialog-settings'),
        this.api.request('GET', '/v1/tags'),
        this.api.request('GET', '/v1/operators'),
      ]);
      this.catalogues = catalogues;
      this.tags = tags.items || [];
      this.colleagues = operators.items || [];
      this.render();
    } catch (error) {
      if (error.status !== 401) toast(`Could not load the dialog settings: ${error.detail}`, 'error');
    }
  }

  show(conversation) {
    const changedConversation = conversation?.id !== this.conversation?.id;
    this.conversation = conversation;
    // Keep what the operator is typing unless another conversation is opened.
    if (changedConversation || !this.container.contains(document.activeElement)) this.render();
  }

  render() {
    const c = this.conversation;
    this.container.hidden = !c || !c.status;
    if (this.container.hidden) return;
    const resolved = c.status === 'resolved';
    this.container.replaceChildren(
      this.titleField(c, resolved),
      this.selectField('Priority', 'priority', PRIORITIES, c.priority, resolved),
      this.selectField('Request type', 'request_type', ['', ...this.catalogues.request_types], c.request_type || '',
        resolved),
      this.multiField('Reasons', 'reasons', this.catalogues.reasons, c.reasons || [], resolved),
      this.multiField('Components', 'components', this.catalogues.components, c.components || [], resolved),
      this.tagsField(c),
      this.participantsField(c, resolved),
      this.pendingButton(c),
    );
  }

  titleField(c, resolved) {
    const input = el('input', { type: 'text', maxlength: '200', value: c.title || '', placeholder: 'Add a title',
      'aria-label': 'Title', id: 'setting-title' });
    input.disabled = resolved;
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') input.blur();
    });
    input.addEventListener('change', () => this.patch({ title: input.value.trim() }));
    return field('Title', input);
  }

  selectField(label, name, values, current, resolved) {
    const select = el('select', { 'aria-label': label, id: `setting-${name}` },
      ...values.map((value) => el('option', { value }, value || '—')));
    select.value = current;
    select.disabled = resolved;
    select.addEventListener('change', () => this.patch({ [name]: select.value }));
    return field(label, select);
  }

  multiField(label, name, values, current, resolved) {
    if (!values.length) return el('span');
    const boxes = values.map((value) => {
      const box = el('input', { type: 'checkbox', value });
      box.checked = current.includes(value);
      box.disabled = resolved;
      box.addEventListener('change', () => this.patch({
        [name]: boxes.filter((b) => b.checked).map((b) => b.value),
      }));
      return box;
    });
    return field(label, el('span', { class: 'checks' },
      ...boxes.map((box) => el('label', { class: 'check' }, box, ` ${box.value}`))));
  }

  tagsField(c) {
    const listId = 'tag-catalogue';
    const input = el('input', { type: 'text', list: listId, maxlength: '40', placeholder: 'Add a tag…',
      'aria-label': 'Add a tag', id: 'setting-tag' });
    input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || !input.value.trim()) return;
      event.preventDefault();
      this.addTag(input.value.trim());
    });
    const chips = (c.tags || []).map((tag) => el('span', { class: 'chip', 'data-tag': tag }, tag,
      el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove tag ${tag}`,
        onclick: () => this.call('DELETE', `/tags/${enc(tag)}`) }, '×')));
    const options = el('datalist', { id: listId }, ...this.tags.map((tag) => el('option', { value: tag })));
    return field('Tags', el('span', { class: 'chips' }, ...chips, input, options));
  }

  participantsField(c, resolved) {
    const names = new Map(this.colleagues.map((o) => [o.id, o.name]));
    const chips = (c.participants || []).map((id) => el('span', { class: 'chip' }, names.get(id) || id,
      resolved ? '' : el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${names.get(id) || id}`,
        onclick: () => this.call('DELETE', `/participants/${enc(id)}`) }, '×')));
    const candidates = this.colleagues.filter((o) => o.id !== c.assignee_id && !(c.participants || []).includes(o.id));
    const select = el('select', { 'aria-label': 'Add a participant', id: 'setting-participant' },
      el('option', { value: '' }, 'Add a colleague…'),
      ...candidates.map((o) => el('option', { value: o.id }, o.name)));
    select.disabled = resolved;
    select.addEventListener('change', () => {
      if (select.value) this.call('POST', '/participants', { operator_id: select.value });
    });
    return field('Participants', el('span', { class: 'chips' }, ...chips, select));
  }

  pendingButton(c) {
    const button = el('button', { type: 'button', id: 'btn-pending', title: 'Wait for the customer' },
      'Wait for customer');
    button.hidden = c.status !== 'open';
    button.addEventListener('click', () => this.call('POST', '/pending', {}, 'Waiting for the customer'));
    return button;
  }

  async addTag(tag) {
    await this.call('POST', '/tags', { tag });
    if (!this.tags.includes(tag.toLowerCase())) this.loadCatalogues();
  }

  patch(changes) {
    return this.call('PATCH', '', { ...changes, version: this.conversation?.version });
  }

  async call(method, suffix, body, done) {
    const id = this.conversation?.id;
    if (!id) return;
    try {
      const row = await this.api.request(method, `/v1/conversations/${enc(id)}${suffix}`, { body });
      if (row) this.onRow(row);
      if (done) toast(done);
    } catch (error) {
      if (error.status === 401) return;
      toast(error.detail, 'error');
      if (error.status === 409) this.reload(id);
    }
  }

  /** After a conflict: show the current state instead of what this tab thought it was. */
  async reload(id) {
    try {
      const data = await this.api.request('GET', `/v1/conversations/${enc(id)}`);
      this.onRow(data.conversation);
    } catch {
      /* the toast already said what went wrong */
    }
  }
}

function field(label, control) {
  return el('div', { class: 'setting' }, el('span', { class: 'setting-label' }, label), control);
}
