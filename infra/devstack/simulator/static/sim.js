// The customer's side of a chat on any simulated platform: posts messages through the simulator (which turns them
// into the platform's signed webhooks) and shows the replies the service sent this customer through the fake API.
// E-mail goes through S3 and a signed SNS notification; its replies are the mails moto's SES sent to the customer.
"use strict";

const $ = (id) => document.getElementById(id);

function digits(count) {
  let text = String(1 + Math.floor(Math.random() * 9));
  while (text.length < count) text += String(Math.floor(Math.random() * 10));
  return text;
}

// What the page needs to know per channel: how the customer is addressed, whether the platform sends their name,
// and what fail-next makes the platform answer.
const CHANNELS = {
  telegram: { title: "Telegram", address: "Telegram chat id", example: () => digits(6), names: true,
              failure: "403: the bot was blocked by the user" },
  whatsapp: { title: "WhatsApp", address: "WhatsApp phone", example: () => `+1555${digits(7)}`, names: true,
              failure: "Graph error 131047: the 24-hour window has closed" },
  messenger: { title: "Messenger", address: "Messenger PSID", example: () => `7${digits(15)}`, names: false,
               failure: "Graph error 10/2018278: outside the 24-hour window" },
  instagram: { title: "Instagram", address: "Instagram IGSID", example: () => `1${digits(15)}`, names: false,
               failure: "Graph error 10/2534022: outside the 24-hour window" },
  vk: { title: "VK", address: "VK user id (peer_id)", example: () => digits(9), names: false,
        failure: "VK error 901: the customer has not allowed the community's messages" },
  twilio: { title: "SMS", address: "SMS phone", example: () => `+1555${digits(7)}`, names: false,
            failure: "Twilio error 21610: the customer texted STOP" },
  // SES is moto's, not the simulator's: there is no fail-next for it.
  email: { title: "E-mail", address: "Customer e-mail", example: () => `ada.${digits(4)}@example.org`, names: true,
           failure: null },
};
const NOT_SIMULATED = {
  widget: { title: "Chat widget", note: "use the widget page at /widget/" },
};

const inboxes = new Map();
const logs = new Map(); // "inbox id|address" → entries, so switching back to a customer shows their chat again
const addresses = new Map(); // inbox id → the customer last used there
const lastMail = new Map(); // "inbox id|address" → Message-ID of the last mail SES sent them (what they answer)
const seenMail = new Set(); // ids of the SES mails already in the log
let lastSeq = 0;
let shownInbox = null;

const plain = (address) => String(address ?? "").replace(/^whatsapp:/, "").replace(/^\+/, "").toLowerCase();
const keyOf = (inboxId, address) => `${inboxId}|${plain(address)}`;
const currentInbox = () => inboxes.get($("sim-inbox").value);
const currentKey = () => keyOf($("sim-inbox").value, $("sim-chat-id").value);

function status(text, isError = false) {
  $("sim-status").textContent = text;
  $("sim-status").classList.toggle("error", isError);
}

async function post(path, body, method = "POST") {
  const response = await fetch(path, {
    method, headers: { "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined,
  });
  const result = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, result };
}

// ------------------------------------------------------------------ the log

function bubble(entry) {
  const item = document.createElement("li");
  item.className = `bubble ${entry.kind}` + (entry.failed ? " failed" : "");
  if (entry.subject) {
    const subject = document.createElement("span");
    subject.className = "subject";
    subject.textContent = entry.subject;
    item.append(subject);
  }
  item.append(entry.failed && entry.reason ? `✗ ${entry.reason}\n${entry.text}` : entry.text);
  for (const choice of entry.choices || []) item.append(choiceButton(choice));
  if (entry.receipts) item.append(receiptButtons(entry));
  const stamp = document.createElement("time");
  stamp.textContent = new Date(entry.at * 1000).toLocaleTimeString() + (entry.receipt ? ` · ${entry.receipt}` : "");
  item.append(stamp);
  return item;
}

function addEntry(key, entry) {
  if (!logs.has(key)) logs.set(key, []);
  logs.get(key).push(entry);
  if (key === currentKey()) {
    const item = bubble(entry);
    entry.element = item;
    $("sim-log").append(item);
    item.scrollIntoView({ block: "end" });
  }
}

function renderLog() {
  $("sim-log").replaceChildren();
  for (const entry of logs.get(currentKey()) || []) {
    entry.element = bubble(entry);
    $("sim-log").append(entry.element);
  }
}

function refresh(entry) {
  if (entry.element) entry.element.replaceWith((entry.element = bubble(entry)));
}

// ------------------------------------------------------------------ replies the service sent (the outbox)

function failureReason(call) {
  const body = call.response || {};
  const perPeer = Array.isArray(body.response) && body.response[0] && body.response[0].error;
  const details = body.error && body.error.error_data && body.error.error_data.details;
  if (details) return `${body.error.message}: ${details}`;
  return body.description || (body.error && (body.error.message || body.error.error_msg))
    || (perPeer && perPeer.description) || body.message || `HTTP ${call.status}`;
}

// Reply buttons the customer can tap: WhatsApp interactive buttons, Messenger and Instagram quick replies.
function choicesOf(call) {
  const payload = call.payload || {};
  const buttons = payload.interactive && payload.interactive.action && payload.interactive.action.buttons;
  if (Array.isArray(buttons)) {
    return buttons.map(({ reply }) => ({ label: reply.title, body: { text: "", button: reply }, shown: reply.title }));
  }
  const quick = payload.message && payload.message.quick_replies;
  if (Array.isArray(quick)) {
    return quick.map((q) => ({ label: q.title, body: { text: q.title, quick_reply: q.payload }, shown: q.title }));
  }
  return [];
}

function botEntry(call) {
  const failed = !call.external_id;
  return {
    kind: "bot", text: call.text, at: call.at, failed, reason: failed ? failureReason(call) : null,
    choices: failed ? [] : choicesOf(call),
    receipts: !failed && call.channel === "whatsapp", externalId: call.external_id, inboxId: call.inbox_id,
  };
}

async function pollOutbox() {
  try {
    const { calls, armed } = await (await fetch(`api/outbox?after=${lastSeq}`)).json();
    for (const call of calls) {
      lastSeq = Math.max(lastSeq, call.seq);
      // Only message sends name a recipient and carry text (not getMe, setWebhook, callback answers...).
      if (call.recipient !== null && call.text !== null) addEntry(keyOf(call.inbox_id, call.recipient), botEntry(call));
    }
    showArmed(armed || {});
  } catch (error) {
    status(`Outbox unavailable: ${error}`, true);
  }
}

// ------------------------------------------------------------------ mail SES sent (moto keeps it)

async function pollMail() {
  if (![...inboxes.values()].some((inbox) => inbox.channel === "email")) return;
  try {
    const { messages } = await (await fetch("api/mail")).json();
    for (const mail of messages) {
      if (seenMail.has(mail.id)) continue;
      seenMail.add(mail.id);
      const sender = plain(String(mail.source || "").replace(/^.*</, "").replace(/>.*$/, ""));
      const inbox = [...inboxes.values()].find((candidate) => candidate.channel === "email"
        && plain((candidate.extra || {}).from_address) === sender);
      if (!inbox) continue;
      for (const recipient of mail.to || []) {
        const key = keyOf(inbox.id, recipient);
        if (mail.message_id) lastMail.set(key, mail.message_id);
        addEntry(key, { kind: "bot", subject: mail.subject, text: mail.text, at: Date.now() / 1000 });
      }
    }
  } catch (error) {
    status(`Sent mail unavailable: ${error}`, true);
  }
}

// ------------------------------------------------------------------ the customer's actions

async function sendAs(body, shown) {
  const inbox = currentInbox();
  if (!inbox) return status("Pick an inbox first.", true);
  const key = currentKey();
  const payload = { from: $("sim-chat-id").value.trim(), name: $("sim-name").value.trim(), ...body };
  let subject = null;
  if (inbox.channel === "email") {
    // Like a mail client answering the latest mail: its Message-ID threads the answer into the conversation.
    subject = $("sim-subject").value.trim();
    payload.subject = subject;
    if (lastMail.has(key)) payload.in_reply_to = lastMail.get(key);
  }
  const { ok, status: code, result } = await post(`api/${inbox.channel}/${encodeURIComponent(inbox.id)}/send`, payload);
  const delivered = ok && result.status === 200;
  addEntry(key, { kind: "customer", subject, text: shown, at: Date.now() / 1000, failed: !delivered,
                  reason: delivered ? null : `webhook answered ${result.status ?? code}` });
  status(delivered ? "Delivered to the webhook." : `Webhook answered ${result.status ?? code}: ${result.response ?? ""}`,
         !delivered);
}

async function send(event) {
  event.preventDefault();
  await ready;
  const text = $("sim-text").value.trim();
  if (!text) return;
  await sendAs({ text }, text);
  $("sim-text").value = "";
}

function choiceButton(choice) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "choice";
  button.textContent = choice.label;
  button.addEventListener("click", () => sendAs(choice.body, choice.shown));
  return button;
}

function receiptButtons(entry) {
  const group = document.createElement("span");
  group.className = "receipts";
  for (const state of ["delivered", "read"]) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = state === "read" ? "✓✓ read" : "✓✓ delivered";
    button.title = `Send WhatsApp's "${state}" status webhook for this message`;
    button.addEventListener("click", async () => {
      const { result } = await post(`api/whatsapp/${encodeURIComponent(entry.inboxId)}/status`,
                                    { wamid: entry.externalId, status: state });
      entry.receipt = result.status === 200 ? state : `${state} refused (${result.status})`;
      refresh(entry);
    });
    group.append(button);
  }
  return group;
}

async function armFailure() {
  const inbox = currentInbox();
  if (!inbox || !CHANNELS[inbox.channel].failure) return;
  const channel = inbox.channel;
  if ($("sim-fail-next").checked) {
    await post(`api/${channel}/fail-next`, { recipient: $("sim-chat-id").value.trim() });
    status(`The next ${CHANNELS[channel].title} send to this customer will fail (${CHANNELS[channel].failure}).`);
  } else {
    await post(`api/${channel}/fail-next`, null, "DELETE");
    status(`${CHANNELS[channel].title} sends will succeed again.`);
  }
}

function showArmed(armed) {
  const inbox = currentInbox();
  const mine = inbox ? armed[inbox.channel] || [] : [];
  const address = plain($("sim-chat-id").value);
  $("sim-fail-next").checked = mine.some((failure) => failure.recipient === null || plain(failure.recipient) === address);
}

// ------------------------------------------------------------------ inboxes and channels

function setupHelp(inbox) {
  const hook = `${location.origin}/webhooks/${inbox.channel}/${inbox.id}`;
  const extra = inbox.extra || {};
  if (inbox.channel === "email") {
    return ["An SES receipt rule stores the mail in the InboundMailBucket and notifies this SNS topic, which is "
            + "subscribed to the webhook; the simulator signs as SNS with its own certificate, which the local stack "
            + "trusts.", `Topic: ${extra.topic_arn}\nWebhook URL: ${hook}\nReplies come from: ${extra.from_address}`];
  }
  if (["whatsapp", "messenger", "instagram"].includes(inbox.channel)) {
    return ["Meta checks the callback URL with a GET; the service answers with the challenge (prints 1158201444).",
            `curl '${hook}?hub.mode=subscribe&hub.verify_token=${extra.verify_token}&hub.challenge=1158201444'`];
  }
  if (inbox.channel === "vk") {
    const event = JSON.stringify({ type: "confirmation", group_id: Number(extra.group_id), secret: inbox.webhook_secret });
    return [`VK confirms the server with a POST; the service answers with the code (prints ${extra.confirmation_code}).`,
            `curl -X POST '${hook}' -H 'Content-Type: application/json' -d '${event}'`];
  }
  if (inbox.channel === "twilio") {
    const receipts = extra.status_callback_url ? "Replies report delivery through the inbox's status callback."
      : "This inbox has no status_callback_url, so Twilio reports no delivery for its replies.";
    return [`Twilio needs no check: it signs every request (X-Twilio-Signature) over the public webhook URL. ${receipts}`,
            `Webhook URL: ${hook}`];
  }
  return ["Telegram needs no check: setWebhook with this URL and the inbox's secret_token.",
          `curl '${hook}' -H 'X-Telegram-Bot-Api-Secret-Token: ${inbox.webhook_secret}' -H 'Content-Type: `
          + "application/json' -d '{\"update_id\":1,\"message\":{\"message_id\":1,\"chat\":{\"id\":1,\"type\":\"private\"},"
          + "\"from\":{\"id\":1,\"is_bot\":false,\"first_name\":\"Ada\"},\"date\":0,\"text\":\"hi\"}}'"];
}

function applyChannel() {
  const inbox = currentInbox();
  if (!inbox) return;
  const channel = CHANNELS[inbox.channel];
  const whatsappNumber = inbox.channel === "twilio" && String((inbox.extra || {}).from).startsWith("whatsapp:");
  $("sim-address-label").textContent = whatsappNumber ? "WhatsApp phone (via Twilio)" : channel.address;
  // Each inbox keeps its customer; the first Telegram inbox keeps what the field already holds.
  if (shownInbox !== null) addresses.set(shownInbox, $("sim-chat-id").value);
  const initial = shownInbox === null && inbox.channel === "telegram";
  if (!initial) $("sim-chat-id").value = addresses.get(inbox.id) || channel.example();
  shownInbox = inbox.id;
  $("sim-name-hint").textContent = channel.names || whatsappNumber ? ""
    : `${channel.title} does not send the customer's name`;
  $("sim-fail-label").textContent = channel.failure ? `(${channel.failure})` : "";
  $("sim-fail-field").hidden = !channel.failure;
  $("sim-subject-field").hidden = inbox.channel !== "email";
  $("sim-chat-id").inputMode = inbox.channel === "email" ? "email" : "numeric";
  const [note, curl] = setupHelp(inbox);
  $("sim-setup-note").textContent = note;
  $("sim-setup-curl").textContent = curl;
  renderLog();
}

async function loadInboxes() {
  const { inboxes: list } = await (await fetch("api/inboxes")).json();
  // Telegram first: it is what the page showed before the other platforms were simulated.
  const order = ["telegram", ...Object.keys(CHANNELS).filter((c) => c !== "telegram"), ...Object.keys(NOT_SIMULATED)];
  list.sort((a, b) => order.indexOf(a.channel) - order.indexOf(b.channel));
  for (const inbox of list) {
    const simulated = inbox.channel in CHANNELS;
    const { title, note } = CHANNELS[inbox.channel] || NOT_SIMULATED[inbox.channel]
      || { title: inbox.channel, note: "not simulated" };
    const option = new Option(`${title} · ${inbox.name}${simulated ? "" : ` — ${note}`}`, inbox.id);
    option.disabled = !simulated;
    $("sim-inbox").append(option);
    if (simulated) inboxes.set(inbox.id, inbox);
  }
  if (!inboxes.size) status("No inbox the simulator can play in the demo data.", true);
  applyChannel();
}

$("sim-chat-id").value = CHANNELS.telegram.example();
$("sim-compose").addEventListener("submit", send);
$("sim-inbox").addEventListener("change", applyChannel);
// Another customer is another chat: show theirs.
$("sim-chat-id").addEventListener("input", renderLog);
$("sim-fail-next").addEventListener("change", armFailure);
const ready = loadInboxes();
ready.then(() => setInterval(() => { pollOutbox(); pollMail(); }, 1000));
