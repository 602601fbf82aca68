/**
 * Messages of the open conversation: how two versions of one message merge (delivery status only
 * moves forward) and how one message is drawn as <div class="message {type}" data-id="…">.
 */

import { el, safeUrl } from './dom.js';
import { clockTime, formatBytes, fullTime, toDate } from './format.js';

const RANK = { pending: 0, sent: 1, delivered: 2, read: 3 };

/** Mirrors the domain rule: statuses never move backwards, `failed` is final and only follows pending/sent. */
export function statusAdvances(current, next) {
  if (!next || next === current) return false;
  if (!current) return true;
  if (current === 'failed') return false;
  if (next === 'failed') return current === 'pending' || current === 'sent';
  return (RANK[next] ?? -1) > (RANK[current] ?? -1);
}

/** The newer fields of `incoming` win, except a delivery status that would move backwards. */
export function mergeMessage(current, incoming) {
  if (!current) return incoming;
  const merged = { ...current, ...incoming };
  if (current.status && incoming.status !== current.status && !statusAdvances(current.status, incoming.status)) {
    merged.status = current.status;
    merged.failure_reason = current.failure_reason;
  }
  return merged;
}

export function compareMessages(a, b) {
  const at = (toDate(a.created_at)?.getTime() || 0) - (toDate(b.created_at)?.getTime() || 0);
  if (at) return at;
  if (a.localKey && !b.localKey) return 1;
  if (b.localKey && !a.localKey) return -1;
  return String(a.id ?? a.localKey).localeCompare(String(b.id ?? b.localKey));
}

/**
 * @param {object} message a server Message, or a local placeholder with `localKey` (not yet acknowledged)
 * @param {{onRetry: (key) => void, onDiscard: (key) => void}} handlers for failed placeholders
 */
export function messageElement(message, handlers) {
  if (message.type === 'activity') return activityElement(message);
  const type = ['incoming', 'outgoing', 'note'].includes(message.type) ? message.type : 'incoming';
  const props = { class: `message ${type}${message.localKey ? ' local' : ''}` };
  if (message.localKey) props.dataset = { clientId: message.client_id };
  else props.dataset = { id: message.id };
  return el('div', props,
    el('div', { class: 'bubble' },
      type === 'note' ? el('div', { class: 'note-label' }, 'Private note · only operators see this') : null,
      authorLine(message, type),
      message.forwarded_from ? el('div', { class: 'forwarded' }, `Forwarded from ${message.forwarded_from}`) : null,
      message.reply_to_external_id ? el('div', { class: 'reply-to' }, '↪ In reply to an earlier message') : null,
      message.text ? el('div', { class: 'text' }, message.text) : null,
      message.deleted_at ? el('div', { class: 'deleted' }, 'The customer deleted this message') : null,
      quotedHistory(message),
      attachmentList(message.attachments),
      metaLine(message, type),
      failureLine(message),
      message.localKey && message.status === 'failed' ? localActions(message, handlers) : null));
}

/** E-mail: the quoted history is folded away, one click brings back the full text as received. */
function quotedHistory(message) {
  if (!message.full_text || message.full_text === message.text) return null;
  const full = el('div', { class: 'text quoted', hidden: true }, message.full_text);
  const toggle = el('button', { type: 'button', class: 'show-quoted' }, 'Show quoted text');
  toggle.addEventListener('click', () => {
    full.hidden = !full.hidden;
    toggle.textContent = full.hidden ? 'Show quoted text' : 'Hide quoted text';
  });
  return el('div', { class: 'quoted-history' }, toggle, full);
}

function activityElement(message) {
  return el('div', { class: 'message activity', dataset: { id: message.id } },
    el('span', { class: 'activity-text' }, message.text || ''),
    el('time', { datetime: message.created_at, title: fullTime(message.created_at) }, clockTime(message.created_at)));
}

function authorLine(message, type) {
  const name = message.author_name || (type === 'incoming' ? 'Contact' : 'Operator');
  return el('div', { class: 'author' }, name);
}

function attachmentList(attachments) {
  if (!Array.isArray(attachments) || !attachments.length) return null;
  return el('ul', { class: 'attachments' }, attachments.map(attachmentChip));
}

function attachmentChip(attachment) {
  const href = safeUrl(attachment.url);
  const name = attachment.name || attachment.mime || 'attachment';
  return el('li', { class: 'attachment', dataset: { kind: attachment.kind || 'file' } },
    el('span', { class: 'attachment-kind' }, attachment.kind || 'file'),
    href
      ? el('a', { class: 'attachment-name', href, target: '_blank', rel: 'noopener noreferrer' }, name)
      : el('span', { class: 'attachment-name' }, name),
    attachment.size ? el('span', { class: 'attachment-size' }, formatBytes(attachment.size)) : null);
}

function metaLine(message, type) {
  return el('div', { class: 'message-meta' },
    el('time', { datetime: message.created_at, title: fullTime(message.created_at) }, clockTime(message.created_at)),
    message.edited_at ? el('span', { class: 'edited', title: `Edited ${fullTime(message.edited_at)}` }, 'edited') : null,
    type === 'outgoing' && message.status
      ? el('span', { class: `status status-${message.status}` }, message.status)
      : null,
    type === 'note' && message.localKey && message.status === 'pending'
      ? el('span', { class: 'saving' }, 'saving…')
      : null);
}

function failureLine(message) {
  if (message.status !== 'failed') return null;
  return el('div', { class: 'failure-reason', role: 'alert' }, message.failure_reason || 'The channel did not accept this message.');
}

function localActions(message, handlers) {
  return el('div', { class: 'local-actions' },
    el('button', { type: 'button', class: 'link-button retry', onclick: () => handlers.onRetry(message.localKey) }, 'Retry'),
    el('button', { type: 'button', class: 'link-button discard', onclick: () => handlers.onDiscard(message.localKey) }, 'Discard'));
}
