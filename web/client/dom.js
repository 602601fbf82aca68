/**
 * Building DOM nodes without innerHTML: every piece of user text goes in as a text node,
 * so a message that says "<img onerror=…>" is shown, never run.
 */

/**
 * Create an element. `props`: class, text, dataset, hidden, on<event> handlers, any other attribute.
 * Children may be nodes, strings or numbers (appended as text), or null/false (skipped).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    setProp(node, key, value);
  }
  appendChildren(node, children);
  return node;
}

function setProp(node, key, value) {
  if (value === undefined || value === null || value === false) return;
  if (key === 'class') node.className = value;
  else if (key === 'text') node.textContent = String(value);
  else if (key === 'dataset') Object.assign(node.dataset, value);
  else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
  else node.setAttribute(key, value === true ? '' : String(value));
}

function appendChildren(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

export function $(selector, root = document) {
  const node = root.querySelector(selector);
  if (!node) throw new Error(`Missing element ${selector}`);
  return node;
}

/** True when the key went to something the user is typing into. */
export function isTypingTarget(target) {
  if (!(target instanceof Element)) return false;
  return target.matches('input, textarea, select, [contenteditable=""], [contenteditable="true"]');
}

/** Only http(s) links are rendered as links; anything else (javascript:, data:) stays plain text. */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

const TOAST_MS = 6000;

/** A short message in the corner; errors stay a little longer and are announced assertively. */
export function toast(text, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const node = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  node.addEventListener('click', () => node.remove());
  region.append(node);
  setTimeout(() => node.remove(), kind === 'error' ? TOAST_MS * 1.5 : TOAST_MS);
}

/** A v4 UUID; crypto.randomUUID exists only in secure contexts, so fall back to getRandomValues. */
export function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
