// The local stack's outbox: what moto's SES accepted (/sim/api/mail), refreshed every two seconds.
"use strict";

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);

function entry(mail) {
  const item = document.createElement("li");
  item.className = "panel mail";
  item.dataset.id = mail.id;
  const head = document.createElement("div");
  head.className = "mail-head";
  for (const [label, value] of [["From", mail.from || mail.source], ["To", (mail.to || []).join(", ")]]) {
    const line = document.createElement("div");
    line.textContent = `${label}: ${value || ""}`;
    head.append(line);
  }
  const subject = document.createElement("strong");
  subject.className = "subject";
  subject.textContent = mail.subject || "(no subject)";
  const text = document.createElement("pre");
  text.className = "text";
  text.textContent = mail.text || "";
  item.append(subject, head, text);
  return item;
}

async function refresh() {
  const to = $("mail-to").value.trim();
  try {
    const answer = await fetch(`api/mail${to ? `?to=${encodeURIComponent(to)}` : ""}`, { cache: "no-store" });
    const { messages } = await answer.json();
    $("mail-list").replaceChildren(...messages.slice().reverse().map(entry));
    $("mail-status").textContent = `${messages.length} mail${messages.length === 1 ? "" : "s"}`;
    $("mail-status").className = "";
  } catch (error) {
    $("mail-status").textContent = `Sent mail unavailable: ${error}`;
    $("mail-status").className = "error";
  }
}

$("mail-to").value = new URLSearchParams(location.search).get("to") || "";
$("mail-filter").addEventListener("input", refresh);
$("mail-filter").addEventListener("submit", (event) => event.preventDefault());
refresh();
setInterval(refresh, REFRESH_MS);
