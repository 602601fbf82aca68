/**
 * Saved replies in the reply box: typing "/shortcut" suggests them, Enter or a click inserts one, and
 * Ctrl+1…9 inserts the reply with that hotkey. The server fills {{contact.first_name}} and the like.
 */

import { el } from './dom.js';

const DEBOUNCE_MS = 150;

export class SavedReplies {
  /**
   * @param {import('./api.js').Api} api
   * @param {HTMLTextAreaElement} textarea
   * @param {HTMLElement} list the suggestion list (#saved-replies)
   * @param {() => string|null} conversationId the open conversation
   */
  constructor(api, textarea, list, conversationId) {
    Object.assign(this, { api, textarea, list, conversationId, items: [], timer: null, hotkeys: null });
    textarea.addEventListener('input', () => this.onInput());
    // Capture: runs before the reply box's own Enter-to-send.
    textarea.addEventListener('keydown', (event) => this.onKey(event), true);
    textarea.addEventListener('blur', () => setTimeout(() => this.close(), 150));
  }

  onInput() {
    clearTimeout(this.timer);
    const match = /^\/(\S*)$/.exec(this.textarea.value);
    if (!match) {
      this.close();
      return;
    }
    this.timer = setTimeout(() => this.suggest(match[1]), DEBOUNCE_MS);
  }

  async suggest(query) {
    try {
      const { items } = await this.api.savedReplies(query);
      this.items = items.slice(0, 8);
    } catch {
      this.items = [];
    }
    this.render();
  }

  render() {
    this.list.replaceChildren(...this.items.map((reply, index) => {
      const item = el('li', { class: `saved-reply${index === 0 ? ' active' : ''}`, dataset: { id: reply.id } },
        el('span', { class: 'saved-shortcut' }, `/${reply.shortcut}`),
        el('span', { class: 'saved-text' }, reply.title || reply.text),
        reply.hotkey ? el('kbd', {}, `Ctrl+${reply.hotkey}`) : null);
      item.addEventListener('mousedown', (event) => {
        event.preventDefault();
        this.insert(reply);
      });
      return item;
    }));
    this.list.hidden = this.items.length === 0;
  }

  async onKey(event) {
    if ((event.ctrlKey || event.metaKey) && /^[1-9]$/.test(event.key)) {
      event.preventDefault();
      const reply = (await this.hotkeyList()).find((item) => item.hotkey === Number(event.key));
      if (reply) this.insert(reply);
      return;
    }
    if (this.list.hidden || !this.items.length) return;
    if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.insert(this.items[0]);
    } else if (event.key === 'Escape') {
      this.close();
    }
  }

  async hotkeyList() {
    if (!this.hotkeys) this.hotkeys = (await this.api.savedReplies('')).items;
    return this.hotkeys;
  }

  async insert(reply) {
    this.close();
    const id = this.conversationId();
    if (!id) return;
    try {
      const { text } = await this.api.renderSavedReply(id, reply.id);
      this.textarea.value = text;
    } catch {
      this.textarea.value = reply.text;
    }
    this.textarea.focus();
  }

  close() {
    this.items = [];
    this.list.hidden = true;
    this.list.replaceChildren();
  }
}
