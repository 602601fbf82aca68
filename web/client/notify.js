/** Browser notifications for the operator, only while the tab is hidden (otherwise the live list says it). */

export function notificationsSupported() {
  return typeof window.Notification === 'function';
}

export function permissionPending() {
  return notificationsSupported() && Notification.permission === 'default';
}

/** Resolves to the permission; never throws (some browsers refuse outside a click). */
export async function askPermission() {
  if (!permissionPending()) return notificationsSupported() ? Notification.permission : 'denied';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

export function notifyWhenHidden({ title, body, tag, onClick }) {
  if (!notificationsSupported() || Notification.permission !== 'granted' || !document.hidden) return;
  try {
    const notification = new Notification(title, { body, tag });
    notification.onclick = () => {
      window.focus();
      onClick();
      notification.close();
    };
  } catch {
    // Some mobile browsers only allow notifications from a service worker; the live list still shows it.
  }
}
