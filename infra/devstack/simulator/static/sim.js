// The customer's side of a chat: posts messages through the simulator and shows the bot's replies, which are the
// sendMessage calls the service made to the fake Telegram API for this chat.
"use strict";

const $ = (id) => document.getElementById(id);
const inboxes = new Map();
let lastSeq = 0;

function addBubble(kind, text, at, failed) {
  const item = document.createElement("li");
  item.className = `bubble ${kind}` + (failed ? " failed" : "");
  item.textContent = text;
  const stamp = document.createElement("time");
  stamp.textContent = new Date(at * 1000).toLocaleTimeString();
  item.append(stamp);
  $("sim-log").append(item);
  item.scrollIntoView({ block: "end" });
}

function status(text, isError = false) {
  $("sim-status").textContent = text;
  $("sim-status").classList.toggle("error", isError);
}

async function loadInboxes() {
  const { inboxes: list } = await (await fetch("api/inboxes")).json();
  for (const inbox of list.filter((candidate) => candidate.channel === "telegram")) {
    inboxes.set(inbox.id, inbox);
    $("sim-inbox").append(new Option(inbox.name, inbox.id));
  }
  if (!inboxes.size) status("No Telegram inbox in the demo data.", true);
}

async function pollOutbox() {
  try {
    const { calls } = await (await fetch(`api/outbox?after=${lastSeq}`)).json();
    const inbox = inboxes.get($("sim-inbox").value);
    for (const call of calls) {
      lastSeq = Math.max(lastSeq, call.seq);
      const forThisChat = String(call.payload.chat_id) === $("sim-chat-id").value;
      if (call.method.toLowerCase() === "sendmessage" && inbox && call.token === inbox.bot_token && forThisChat) {
        const failed = !call.response.ok;
        addBubble("bot", failed ? `✗ ${call.response.description}` : call.payload.text, call.at, failed);
      }
    }
  } catch (error) {
    status(`Outbox unavailable: ${error}`, true);
  }
}

async function armFailure() {
  if (!$("sim-fail-next").checked) return;
  await fetch("api/telegram/fail-next", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ error_code: 403, description: "Forbidden: bot was blocked by the user" }),
  });
  $("sim-fail-next").checked = false;
  status("The next message the service sends will fail with 403 (bot blocked).");
}

async function send(event) {
  event.preventDefault();
  const text = $("sim-text").value.trim();
  if (!text) return;
  const [firstName, ...rest] = $("sim-name").value.trim().split(/\s+/);
  const response = await fetch(`api/telegram/${encodeURIComponent($("sim-inbox").value)}/send`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      chat_id: Number($("sim-chat-id").value),
      first_name: firstName,
      last_name: rest.join(" ") || undefined,
      username: firstName.toLowerCase(),
      text,
    }),
  });
  const result = await response.json();
  const ok = response.ok && result.status === 200;
  addBubble("customer", text, result.update ? result.update.message.date : Date.now() / 1000, !ok);
  status(ok ? "Delivered to the webhook." : `Webhook answered ${result.status ?? response.status}.`, !ok);
  $("sim-text").value = "";
}

$("sim-chat-id").value = String(100000 + Math.floor(Math.random() * 900000));
$("sim-compose").addEventListener("submit", send);
// Another customer or inbox is another chat: start its log empty.
for (const id of ["sim-inbox", "sim-chat-id"]) $(id).addEventListener("change", () => $("sim-log").replaceChildren());
$("sim-fail-next").addEventListener("change", armFailure);
loadInboxes().then(() => setInterval(pollOutbox, 1000));
