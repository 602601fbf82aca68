/** How times, names and channels read in the client. Pure functions, no DOM. */

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function toDate(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "now", "5m", "3h", "yesterday", "Mon", "12 Mar" — short enough for a list row. */
export function relativeTime(value, now = new Date()) {
  const date = toDate(value);
  if (!date) return '';
  const age = now.getTime() - date.getTime();
  if (age < MINUTE) return 'now';
  if (age < HOUR) return `${Math.floor(age / MINUTE)}m`;
  if (age < 12 * HOUR || sameDay(date, now)) return `${Math.floor(age / HOUR)}h`;
  const yesterday = new Date(now.getTime() - DAY);
  if (sameDay(date, yesterday)) return 'yesterday';
  if (age < 6 * DAY) return date.toLocaleDateString(undefined, { weekday: 'short' });
  return date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

/** "14:05" today, "12 Mar, 14:05" otherwise. */
export function clockTime(value, now = new Date()) {
  const date = toDate(value);
  if (!date) return '';
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (sameDay(date, now)) return time;
  return `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}, ${time}`;
}

export function fullTime(value) {
  const date = toDate(value);
  return date ? date.toLocaleString() : '';
}

/** Tomorrow at hh:00 in the browser's time zone, as ISO-8601. */
export function tomorrowAt(hour, now = new Date()) {
  const date = new Date(now);
  date.setDate(date.getDate() + 1);
  date.setHours(hour, 0, 0, 0);
  return date.toISOString();
}

export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

/** A stable, dark-enough hue per person so white initials stay readable. */
export function avatarColor(key) {
  let hash = 0;
  for (const ch of String(key || '')) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360} 45% 36%)`;
}

const CHANNEL_LABELS = {
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  facebook: 'Messenger',
  instagram: 'Instagram',
  vk: 'VK',
  email: 'E-mail',
  sms: 'SMS',
  twilio: 'SMS',
  widget: 'Widget',
  api: 'API',
};

export function channelLabel(channel) {
  return CHANNEL_LABELS[channel] || channel || 'unknown';
}

/** The CSS class suffix for a channel; anything unexpected falls back to a neutral badge. */
export function channelClass(channel) {
  return Object.hasOwn(CHANNEL_LABELS, channel) ? channel : 'other';
}

export function formatBytes(size) {
  if (typeof size !== 'number' || size < 0) return '';
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/** What a message (or a row's last message) says when it has no text. */
export function previewText(lastMessage) {
  if (!lastMessage) return 'No messages yet';
  const text = (lastMessage.text || '').trim();
  return text || '(attachment)';
}
