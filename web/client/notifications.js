/**
 * The bell: the operator's recent notifications with an unread badge. They arrive live as `notification` frames and
 * are fetched again after every (re)connect (GET /v1/notifications), so a reload or a dropped socket loses none.
 * Clicking one marks it read and opens its conversation. Each notification says through which channels it reaches
 * the operator (their preferences): `in_app` lists it here, `browser` shows a browser notification while the tab is
 * hidden. The preferences panel edits those choices per event.
 */

import { el, toast } from './dom.js';
import { relativeTime } from './format.js';
import { askPermission, notificationsSupported, notifyWhenHidden } from './notify.js';

const SHOWN = 30;
const BADGE_CAP = 99;
const CHANNEL_LABELS = { in_app: 'In app', email: 'E-mail', browser: 'Browser' };

export class NotificationCenter {
  /**
   * @param {object} options
   *   api        the Api
   *   elements   {button, badge, panel, list, empty, readAll, prefsButton, prefs, prefsForm, prefsTable, prefsCancel,
   *               prefsHint}
   *   onOpen     (conversationId) => void
   */
  constructor({ api, elements, onOpen }) {
    Object.assign(this, { api, els: elements, onOpen, items: new Map(), unread: 0, seen: new Set() });
    const els = elements;
    els.button.addEventListener('click', () => (els.panel.hidden ? this.show() : this.hide()));
    els.readAll.addEventListener('click', () => this.markAllRead());
    els.list.addEventListener('click', (event) => {
      const item = event.target.closest('.notification');
      if (item) this.open(this.items.get(item.dataset.id));
    });
    els.prefsButton.addEventListener('click', () => this.editPreferences());
    els.prefsForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.savePreferences();
    });
    els.prefsCancel.addEventListener('click', () => els.prefs.close());
    document.addEventListener('click', (event) => {
      if (!els.panel.hidden && !event.target.closest('.notifications-wrap')) this.hide();
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !els.panel.hidden) this.hide();
    });
  }

  /** The list as the server keeps it: after sign-in and after every socket (re)open. */
  async load() {
    try {
      const page = await this.api.notifications(SHOWN);
      this.items = new Map(page.items.map((item) => [item.id, item]));
      for (const id of this.items.keys()) this.seen.add(id);
      this.unread = page.unread_count;
      this.render();
    } catch {
      // The bell keeps what it showed; the next (re)connect tries again.
    }
  }

  /** A live `notification` frame. The same id twice (a retried delivery, a catch-up) is shown once. */
  receive(notification) {
    if (!notification?.id || this.seen.has(notification.id)) return;
    this.seen.add(notification.id);
    const channels = notification.channels || [];
    if (channels.includes('in_app')) {
      this.items.set(notification.id, notification);
      if (!notification.read) this.unread += 1;
      this.render();
    }
    if (channels.includes('browser')) {
      notifyWhenHidden({
        title: notification.title, body: notification.body, tag: notification.id,
        onClick: () => this.open(notification),
      });
    }
  }

  reset() {
    this.items.clear();
    this.seen.clear();
    this.unread = 0;
    this.hide();
    this.render();
  }

  // ------------------------------------------------------------------ the list

  render() {
    const { badge, list, empty, readAll } = this.els;
    badge.hidden = this.unread <= 0;
    badge.textContent = this.unread > BADGE_CAP ? `${BADGE_CAP}+` : String(this.unread);
    this.els.button.setAttribute('aria-label', `Notifications, ${this.unread} unread`);
    const newestFirst = [...this.items.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, SHOWN);
    list.replaceChildren(...newestFirst.map((item) => el('li', {
      class: `notification${item.read ? '' : ' unread'}`, dataset: { id: item.id, event: item.event }, tabindex: 0,
    },
    el('span', { class: 'notification-title' }, item.title),
    item.body ? el('span', { class: 'notification-body' }, item.body) : null,
    el('time', { class: 'notification-time', datetime: item.created_at }, relativeTime(item.created_at)))));
    empty.hidden = newestFirst.length > 0;
    readAll.disabled = this.unread <= 0;
  }

  show() {
    this.els.panel.hidden = false;
    this.els.button.setAttribute('aria-expanded', 'true');
    this.render();
  }

  hide() {
    this.els.panel.hidden = true;
    this.els.button.setAttribute('aria-expanded', 'false');
  }

  /** Mark it read (once) and open its conversation. */
  async open(notification) {
    if (!notification) return;
    this.hide();
    if (notification.conversation_id) this.onOpen(notification.conversation_id);
    const listed = this.items.get(notification.id);
    if (!listed || listed.read) return;
    listed.read = true;
    this.unread = Math.max(0, this.unread - 1);
    this.render();
    try {
      this.unread = (await this.api.markNotificationsRead([notification.id])).unread_count;
      this.render();
    } catch {
      // Still unread on the server: the next load shows it so.
    }
  }

  async markAllRead() {
    try {
      this.unread = (await this.api.markNotificationsRead('all')).unread_count;
    } catch (error) {
      toast(error.detail || 'Could not mark the notifications read.', 'error');
      return;
    }
    for (const item of this.items.values()) item.read = true;
    this.render();
  }

  // ------------------------------------------------------------------ preferences

  async editPreferences() {
    this.hide();
    let answer;
    try {
      answer = await this.api.notificationPreferences();
    } catch (error) {
      toast(error.detail || 'Could not load your notification preferences.', 'error');
      return;
    }
    const header = el('tr', {}, el('th', { scope: 'col' }, 'Notify me when…'),
      ...answer.channels.map((channel) => el('th', { scope: 'col' }, CHANNEL_LABELS[channel] || channel)));
    const rows = answer.events.map(({ event, label }) => el('tr', {}, el('th', { scope: 'row' }, label),
      ...answer.channels.map((channel) => el('td', {}, el('input', {
        type: 'checkbox', dataset: { event, channel }, 'aria-label': `${label}: ${CHANNEL_LABELS[channel]}`,
        checked: (answer.preferences[event] || []).includes(channel),
      })))));
    this.els.prefsTable.replaceChildren(el('thead', {}, header), el('tbody', {}, ...rows));
    this.els.prefsHint.textContent = browserHint();
    this.els.prefs.showModal();
  }

  async savePreferences() {
    const preferences = {};
    for (const box of this.els.prefsTable.querySelectorAll('input[type="checkbox"]')) {
      preferences[box.dataset.event] ||= [];
      if (box.checked) preferences[box.dataset.event].push(box.dataset.channel);
    }
    try {
      await this.api.setNotificationPreferences(preferences);
    } catch (error) {
      toast(error.detail || 'Could not save your notification preferences.', 'error');
      return;
    }
    this.els.prefs.close();
    toast('Notification preferences saved.');
    if (Object.values(preferences).some((channels) => channels.includes('browser'))) askPermission();
  }
}

function browserHint() {
  if (!notificationsSupported()) return 'This browser cannot show notifications; the bell still lists them.';
  if (Notification.permission === 'denied') return 'Browser notifications are blocked for this site in your browser.';
  return 'Browser notifications appear while Switchboard is in a background tab.';
}
