/**
 * @mentions in private notes. Typing "@an" in the note box suggests colleagues whose handle or name starts so;
 * Enter, Tab or a click inserts "@handle ". The server reads the same syntax (shared/switchboard/domain/
 * notifications.py): "@" then the e-mail's local part, or a first name nobody else has, in any case. Only notes
 * mention: a reply goes to the customer, so the box suggests nobody there.
 */

import { el } from './dom.js';

const SHOWN = 8;
// "@" at the start or after anything but a letter, digit, "_", "." or "@" (so an e-mail address is not a mention),
// then the handle typed so far, right before the caret.
const TYPED_HANDLE = /(?:^|[^\p{L}\p{N}_.@])@([\p{L}\p{N}_.+-]*)$/u;

export class MentionSuggest {
  /**
   * @param {import('./api.js').Api} api
   * @param {HTMLTextAreaElement} textarea
   * @param {HTMLElement} list the suggestion list (#mention-suggestions)
   * @param {{isNote: () => boolean, meId: () => string|undefined}} context
   */
  constructor(api, textarea, list, context) {
    Object.assign(this, { api, textarea, list, context, people: null, items: [], active: 0, start: -1, asked: 0 });
    textarea.addEventListener('input', () => this.onInput());
    // Capture: runs before the reply box's own Enter-to-send.
    textarea.addEventListener('keydown', (event) => this.onKey(event), true);
    textarea.addEventListener('blur', () => setTimeout(() => this.close(), 150));
  }

  async colleagues() {
    if (!this.people) {
      try {
        this.people = (await this.api.operators()).items.filter((person) => person.handle);
      } catch {
        return [];
      }
    }
    return this.people.filter((person) => person.id !== this.context.meId());
  }

  async onInput() {
    const asked = ++this.asked;
    const caret = this.textarea.selectionStart;
    const typed = this.context.isNote() && TYPED_HANDLE.exec(this.textarea.value.slice(0, caret));
    if (!typed) {
      this.close();
      return;
    }
    const query = typed[1].toLowerCase();
    const colleagues = await this.colleagues();
    if (asked !== this.asked) return; // a later keystroke asked again while the colleagues loaded
    this.items = colleagues.filter((person) => [person.handle, ...(person.name || '').split(/\s+/)]
      .some((word) => word && word.toLowerCase().startsWith(query))).slice(0, SHOWN);
    this.active = 0;
    this.start = caret - typed[1].length - 1; // where the "@" is
    this.render();
  }

  render() {
    this.list.replaceChildren(...this.items.map((person, index) => {
      const item = el('li', { class: `mention${index === this.active ? ' active' : ''}`, dataset: { id: person.id } },
        el('span', { class: 'mention-handle' }, `@${person.handle}`),
        el('span', { class: 'mention-name' }, person.name || person.email));
      item.addEventListener('mousedown', (event) => {
        event.preventDefault();
        this.insert(person);
      });
      return item;
    }));
    this.list.hidden = this.items.length === 0;
  }

  onKey(event) {
    if (this.list.hidden || !this.items.length) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.items.length) % this.items.length;
      this.render();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.insert(this.items[this.active]);
    } else if (event.key === 'Escape') {
      event.stopImmediatePropagation();
      this.close();
    }
  }

  insert(person) {
    const { value, selectionStart: caret } = this.textarea;
    const mention = `@${person.handle} `;
    this.textarea.value = value.slice(0, this.start) + mention + value.slice(caret);
    const after = this.start + mention.length;
    this.textarea.setSelectionRange(after, after);
    this.close();
    this.textarea.focus();
  }

  close() {
    this.asked += 1; // a lookup still loading must not open the list again
    this.items = [];
    this.list.hidden = true;
    this.list.replaceChildren();
  }
}
