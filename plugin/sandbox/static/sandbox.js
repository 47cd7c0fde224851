// Sandbox page: builds CDS Hooks requests for the chosen patient, calls the service from the browser
// (same origin, as an EHR would), renders the cards and sends feedback. No build step, no libraries.
// Where the service verifies JWTs, a pasted bearer token goes with the /cds-services calls.
"use strict";

const CPT = "http://www.ama-assn.org/go/cpt";
const CONTRACT = {
  "order-select": "ecmo-cannulation-order-select",
  "order-sign": "ecmo-cannulation-order-sign",
};
const $ = (id) => document.getElementById(id);
const state = { scenario: null, drafts: [], primaryId: null, shifted: false, services: {}, data: null };

function show(id, value) { $(id).textContent = JSON.stringify(value, null, 2); }
function status(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

// The bearer token lives only in the page's text field: never stored, and sent with calls to
// /cds-services only (cdsHeaders is used for nothing else).
function bearerToken() {
  const field = $("bearer-token");
  return field ? field.value.trim().replace(/^Bearer\s+/i, "") : "";
}

function cdsHeaders(headers) {
  const token = bearerToken();
  return token ? Object.assign({}, headers, { Authorization: "Bearer " + token }) : headers;
}

function cdsUrl(path) { return (document.body.dataset.cdsBase || "/cds-services") + path; }

function tokenClaims(token) {
  // Read (not verified) only to say which aud the pasted token names when the service refuses it.
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch (err) {
    return null;
  }
}

function unauthorizedText(path) {
  const url = cdsUrl(path);
  const token = bearerToken();
  if (!token) {
    const where = $("bearer-token") ? "paste one in the Bearer token field and try again" :
      "this page has no token field because the server is in development mode";
    return "The service answered 401: it requires a JWT signed by a trusted issuer; " + where +
      ". The token's aud must be " + url + ".";
  }
  let text = "The service refused the token (401). It must be signed by a trusted issuer, name " + url +
    " as its aud, be unexpired, and be new: each token is accepted once (jti).";
  const claims = tokenClaims(token);
  if (claims) {
    const aud = [].concat(claims.aud || []);
    if (!aud.some((a) => String(a).replace(/\/$/, "") === url)) {
      text += " This token's aud is " + (aud.length ? aud.join(", ") : "missing") + ".";
    }
  } else {
    text += " The text in the field is not a JWT.";
  }
  return text;
}

async function discover() {
  try {
    const response = await fetch("/cds-services", { headers: cdsHeaders({ Accept: "application/json" }) });
    if (response.status === 401) {
      status("Discovery needs a JWT (401), so the contract's service ids are used; paste a token in the " +
        "Bearer token field before firing a hook.", true);
      return;
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    const body = await response.json();
    for (const service of body.services || []) {
      if (Object.values(CONTRACT).includes(service.id)) state.services[service.hook] = service;
    }
  } catch (err) {
    status("CDS discovery failed (" + err.message + "); using the contract's service ids.", true);
  }
}

function serviceFor(hook) {
  const service = state.services[hook];
  return { id: service ? service.id : CONTRACT[hook], prefetch: service ? service.prefetch : null };
}

async function buildRequest(hook) {
  const payload = {
    scenario: state.scenario, hook: hook, shiftToToday: state.shifted,
    omitPrefetch: $("omit-prefetch").checked,
  };
  const templates = serviceFor(hook).prefetch;
  if (templates) payload.templates = templates;
  if (!state.shifted && $("order-date").value) payload.orderDate = $("order-date").value;
  const response = await fetch("/sandbox/api/request", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || ("HTTP " + response.status));
  return body;
}

function codeOf(order) {
  const coding = ((order.code || {}).coding || []).find((c) => c.system === CPT) || {};
  return coding.code || "";
}

function optionText(code) {
  const option = [...$("order-code").options].find((o) => o.value === code);
  return option ? option.textContent.replace(/^\S+\s*/, "") : "CPT " + code;
}

function primary() { return state.drafts.find((d) => d.id === state.primaryId); }

function describeOrder(order) {
  // The CPT coding's own display first (it names the code shown), then this page's name for the code.
  const code = codeOf(order);
  const coding = ((order.code || {}).coding || []).find((c) => c.system === CPT) || {};
  const known = [...$("order-code").options].some((o) => o.value === code) ? optionText(code) : "";
  return code + " " + (coding.display || known || (order.code || {}).text || "");
}

function syncToForm() {
  const order = primary();
  if (!order) return;
  const code = codeOf(order);
  if (![...$("order-code").options].some((o) => o.value === code)) {
    $("order-code").add(new Option(code + " " + ((order.code || {}).text || ""), code));
  }
  $("order-code").value = code;
  $("order-qty").value = ((order.quantityQuantity || {}).value) || 1;
  const others = state.drafts.filter((d) => d.id !== state.primaryId).map(codeOf);
  for (const box of document.querySelectorAll(".concurrent")) box.checked = others.includes(box.value);
  $("order-display").textContent = describeOrder(order);
}

function syncFromForm() {
  const order = primary();
  if (!order) return;
  const code = $("order-code").value;
  if (code !== codeOf(order)) order.code = { coding: [{ system: CPT, code: code }], text: optionText(code) };
  order.quantityQuantity = { value: Number($("order-qty").value) || 1 };
  const date = $("order-date").value;
  for (const draft of state.drafts) if (date) draft.occurrenceDateTime = date;
  for (const box of document.querySelectorAll(".concurrent")) {
    const existing = state.drafts.find((d) => d.id !== state.primaryId && codeOf(d) === box.value);
    if (box.checked && !existing) {
      const extra = JSON.parse(JSON.stringify(order));
      extra.id = "sandbox-" + box.value + "-" + state.primaryId.slice(0, 8);
      extra.code = { coding: [{ system: CPT, code: box.value }], text: optionText(box.value) };
      extra.quantityQuantity = { value: 1 };
      state.drafts.push(extra);
    } else if (!box.checked && existing) {
      state.drafts = state.drafts.filter((d) => d !== existing);
    }
  }
  $("order-display").textContent = describeOrder(order);
}

function fillSummary(data) {
  const p = data.patient;
  $("scenario-description").textContent = data.scenario.description;
  $("p-name").textContent = p.name + " (" + p.gender + ")" + (p.deceased ? ", deceased " + p.deceased : "");
  $("p-birth").textContent = p.birthDate || "not recorded";
  $("age").textContent = p.age.text + " on " + data.orderDate + (data.shiftDays ? " (record shifted " + data.shiftDays + " days)" : "");
  $("p-payer").textContent = p.payer;
  $("p-setting").textContent = p.setting || "–";
  $("p-conditions").textContent = p.conditions.length ? p.conditions.join("; ") : "none";
  $("p-consent").textContent = p.consent;
  const expected = data.scenario.expectedCards.map((c) => c.topic + "/" + c.indicator);
  const absent = (data.scenario.absentTopics || []).map((t) => "no " + t);
  $("expected").textContent = expected.concat(absent).join(", ") || "no cards";
}

async function loadPatient(keepOrder) {
  state.scenario = $("patient").value;
  status("Loading " + state.scenario + "…");
  try {
    const data = await buildRequest("order-sign");
    state.data = data;
    fillSummary(data);
    if (!keepOrder) {
      state.drafts = data.request.context.draftOrders.entry.map((e) => e.resource);
      state.primaryId = data.selection;
      $("order-date").value = data.orderDate;
      syncToForm();
      $("cards").innerHTML = '<p class="muted">No hook fired yet.</p>';
    }
    status("");
  } catch (err) {
    status("Could not load the patient: " + err.message, true);
  }
}

async function fire(hook) {
  syncFromForm();
  const service = serviceFor(hook);
  let built;
  try {
    built = await buildRequest(hook);
  } catch (err) {
    status("Could not build the request: " + err.message, true);
    return;
  }
  const body = built.request;
  body.context.draftOrders = { resourceType: "Bundle", type: "collection", entry: state.drafts.map((r) => ({ resource: r })) };
  if (hook === "order-select") body.context.selections = ["ServiceRequest/" + state.primaryId];
  show("raw-request", body);
  status("Calling " + service.id + "…");
  let response, answer;
  try {
    response = await fetch("/cds-services/" + encodeURIComponent(service.id), {
      method: "POST", headers: cdsHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify(body),
    });
    answer = await response.json().catch(() => ({ error: "not-json" }));
  } catch (err) {
    status("The service did not answer: " + err.message, true);
    return;
  }
  show("raw-response", { status: response.status, body: answer });
  if (response.status === 401) {
    const text = unauthorizedText("/" + service.id);
    status(hook + ": not authorized (401)", true);
    const box = $("cards");
    box.innerHTML = "";
    const note = el("p", "auth-error", text);
    note.setAttribute("role", "alert");
    box.appendChild(note);
    return;
  }
  if (!response.ok) {
    status("The service answered " + response.status + ": " + (answer.message || answer.error || ""), true);
    renderCards([], service.id);
    return;
  }
  const cards = answer.cards || [];
  status(hook + ": " + cards.length + " card" + (cards.length === 1 ? "" : "s"));
  renderCards(cards, service.id);
}

// Markdown subset for card detail: HTML is escaped first, then **bold**, *italic*, `code`,
// [text](http…) links, "- " lists, pipe tables, "---" rules, "#" headings and paragraphs.
// Nothing the service sends can inject markup.
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function inline(text) {
  return text
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
}
function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => inline(c.trim()));
}
function renderBlock(lines) {
  if (!lines.length) return "";
  if (/^\s*(-{3,}|\*{3,})\s*$/.test(lines[0])) return "<hr>" + renderBlock(lines.slice(1));
  const heading = /^(#{1,6})\s+(.*)$/.exec(lines[0]);
  if (heading) return "<h4>" + inline(heading[2]) + "</h4>" + renderBlock(lines.slice(1));
  if (lines.length >= 2 && /^\s*\|/.test(lines[0]) && /^\s*\|?\s*:?-{3,}/.test(lines[1])) {
    const rows = lines.filter((l) => /^\s*\|/.test(l));
    const head = "<tr>" + cells(rows[0]).map((c) => "<th>" + c + "</th>").join("") + "</tr>";
    const body = rows.slice(2).map((r) => "<tr>" + cells(r).map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("");
    return '<div class="table-wrap"><table><thead>' + head + "</thead><tbody>" + body + "</tbody></table></div>";
  }
  if (lines.every((l) => /^\s*[-*]\s+/.test(l))) {
    return "<ul>" + lines.map((l) => "<li>" + inline(l.replace(/^\s*[-*]\s+/, "")) + "</li>").join("") + "</ul>";
  }
  return "<p>" + lines.map(inline).join("<br>") + "</p>";
}
function renderMarkdown(source) {
  return escapeHtml(source || "").split(/\n\s*\n/).map((block) => renderBlock(block.split("\n"))).join("");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderCards(cards, serviceId) {
  const box = $("cards");
  box.innerHTML = "";
  if (!cards.length) { box.appendChild(el("p", "muted", "No cards.")); return; }
  for (const card of cards) box.appendChild(renderCard(card, serviceId));
}

function renderCard(card, serviceId) {
  const indicator = ["info", "warning", "critical"].includes(card.indicator) ? card.indicator : "info";
  const node = el("article", "card card-" + indicator);
  node.dataset.uuid = card.uuid || "";
  const topic = ((card.source || {}).topic || {});
  node.dataset.topic = topic.code || "";
  const head = el("div", "card-head");
  head.appendChild(el("span", "badge", indicator));
  head.appendChild(el("span", "card-summary", card.summary || ""));
  node.appendChild(head);
  if (topic.code) node.appendChild(el("div", "card-topic", (topic.display || topic.code) + " · " + topic.code));
  if (card.detail) {
    const detail = el("div", "card-detail");
    detail.innerHTML = renderMarkdown(card.detail);
    node.appendChild(detail);
  }
  const source = card.source || {};
  if (source.label) {
    const line = el("div", "card-source", "Source: ");
    if (source.url && /^https?:\/\//.test(source.url)) {
      const a = el("a", "", source.label);
      a.href = source.url; a.target = "_blank"; a.rel = "noopener noreferrer";
      line.appendChild(a);
    } else {
      line.appendChild(document.createTextNode(source.label));
    }
    node.appendChild(line);
  }
  for (const link of card.links || []) {
    if (!/^https?:\/\//.test(link.url || "")) continue;
    const line = el("div", "card-source");
    const a = el("a", "", link.label || link.url);
    a.href = link.url; a.target = "_blank"; a.rel = "noopener noreferrer";
    line.appendChild(a);
    node.appendChild(line);
  }
  const feedback = el("div", "feedback-status");
  if ((card.suggestions || []).length) {
    const row = el("div", "suggestions");
    for (const suggestion of card.suggestions) {
      const button = el("button", "accept", "Accept: " + (suggestion.label || "suggestion"));
      button.type = "button";
      button.addEventListener("click", () => accept(card, suggestion, serviceId, node, feedback));
      row.appendChild(button);
    }
    node.appendChild(row);
  }
  const reasons = card.overrideReasons || [];
  const override = el("div", "override");
  const select = el("select", "override-reason");
  select.setAttribute("aria-label", "Override reason");
  select.appendChild(new Option(reasons.length ? "Override reason…" : "Override (no reasons offered)", ""));
  reasons.forEach((reason, index) => select.appendChild(new Option(reason.display || reason.code, String(index))));
  const comment = el("input", "override-comment");
  comment.type = "text"; comment.placeholder = "Comment (optional)"; comment.setAttribute("aria-label", "Override comment");
  const button = el("button", "override-button secondary", "Override");
  button.type = "button";
  button.addEventListener("click", () => {
    const reason = select.value === "" ? null : reasons[Number(select.value)];
    overrideCard(card, reason, comment.value, serviceId, node, feedback);
  });
  override.append(select, comment, button);
  node.appendChild(override);
  node.appendChild(feedback);
  return node;
}

function applyAction(action) {
  const resource = action.resource;
  if (action.type === "delete") {
    const id = String(action.resourceId || "").split("/").pop();
    if (id === state.primaryId) return;
    state.drafts = state.drafts.filter((d) => d.id !== id);
  } else if (action.type === "update" && resource) {
    const index = state.drafts.findIndex((d) => d.id === resource.id && d.resourceType === resource.resourceType);
    if (index >= 0) state.drafts[index] = resource; else state.drafts.push(resource);
  } else if (action.type === "create" && resource && resource.resourceType === "ServiceRequest") {
    state.drafts.push(resource);
  }
}

function now() { return new Date().toISOString().replace(/\.\d{3}Z$/, "Z"); }

async function sendFeedback(serviceId, item, feedbackNode) {
  const body = { feedback: [item] };
  show("raw-feedback", body);
  try {
    const response = await fetch("/cds-services/" + encodeURIComponent(serviceId) + "/feedback", {
      method: "POST", headers: cdsHeaders({ "Content-Type": "application/json" }), body: JSON.stringify(body),
    });
    if (response.status === 401) {
      feedbackNode.textContent = "Feedback not recorded: " + unauthorizedText("/" + serviceId + "/feedback");
      feedbackNode.classList.add("error");
      return;
    }
    feedbackNode.textContent = response.ok ? "Feedback recorded (" + item.outcome + ")." : "Feedback failed: HTTP " + response.status;
  } catch (err) {
    feedbackNode.textContent = "Feedback failed: " + err.message;
  }
}

function accept(card, suggestion, serviceId, node, feedbackNode) {
  for (const action of suggestion.actions || []) applyAction(action);
  syncToForm();
  node.classList.add("accepted");
  for (const button of node.querySelectorAll("button")) button.disabled = true;
  sendFeedback(serviceId, {
    card: card.uuid, outcome: "accepted", acceptedSuggestions: [{ id: suggestion.uuid }], outcomeTimestamp: now(),
  }, feedbackNode);
}

function overrideCard(card, reason, comment, serviceId, node, feedbackNode) {
  const item = { card: card.uuid, outcome: "overridden", outcomeTimestamp: now() };
  if (reason || comment) {
    item.overrideReason = {};
    if (reason) item.overrideReason.reason = { system: reason.system, code: reason.code, display: reason.display };
    if (comment) item.overrideReason.userComment = comment;
  }
  node.classList.add("overridden");
  for (const button of node.querySelectorAll("button")) button.disabled = true;
  sendFeedback(serviceId, item, feedbackNode);
}

document.addEventListener("DOMContentLoaded", async () => {
  await discover();
  $("patient").addEventListener("change", () => { state.shifted = false; loadPatient(false); });
  $("order-date").addEventListener("change", () => { syncFromForm(); loadPatient(true); });
  $("order-code").addEventListener("change", syncFromForm);
  $("order-qty").addEventListener("change", syncFromForm);
  for (const box of document.querySelectorAll(".concurrent")) box.addEventListener("change", syncFromForm);
  $("shift-today").addEventListener("click", async () => {
    state.shifted = true;
    await loadPatient(true);
    $("order-date").value = state.data.orderDate;
    syncFromForm();
  });
  $("shift-reset").addEventListener("click", () => { state.shifted = false; loadPatient(false); });
  $("fire-select").addEventListener("click", () => fire("order-select"));
  $("fire-sign").addEventListener("click", () => fire("order-sign"));
  if ($("patient").value) await loadPatient(false);
});
