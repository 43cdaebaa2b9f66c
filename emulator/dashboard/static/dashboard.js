// The presence emulator's dashboard: one live feed (server-sent events), a windowed grid of user cards, and
// forms that drive the emulator through Graph where Graph can and the control plane where it cannot.
// Every countdown runs on the emulated clock: the feed says where the clock stands and how fast it runs, and
// the page extrapolates between events. The browser's own clock is never used for a countdown.
"use strict";

(() => {
  const API = "/v1.0";
  const CONTROL = "/_emulator";
  const DEFAULT_APP_ID = "00000000-0000-4000-8000-00000000a99c";

  const AVAILABILITIES = ["Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle", "DoNotDisturb",
    "Offline", "PresenceUnknown"];
  const ACTIVITIES = ["Available", "AvailableInactive", "Away", "BeRightBack", "Busy", "DoNotDisturb", "Focusing",
    "InACall", "InAConferenceCall", "Inactive", "InAMeeting", "Offline", "OffWork", "OutOfOffice",
    "PresenceUnknown", "Presenting", "UrgentInterruptionsOnly"];
  // The Teams states and the pair each shows in Graph (Microsoft's permutation table).
  const TEAMS_STATES = [
    ["Available", "Available", "Available"], ["Busy", "Busy", "Busy"], ["In a call", "Busy", "InACall"],
    ["In a conference call", "Busy", "InAConferenceCall"], ["In a meeting", "Busy", "InAMeeting"],
    ["Do not disturb", "DoNotDisturb", "DoNotDisturb"], ["Presenting", "DoNotDisturb", "Presenting"],
    ["Focusing", "DoNotDisturb", "Focusing"], ["Away", "Away", "Away"],
    ["Be right back", "BeRightBack", "BeRightBack"], ["Appear offline", "Offline", "OffWork"],
  ];
  const SET_PRESENCE_PAIRS = [["Available", "Available"], ["Busy", "InACall"], ["Busy", "InAConferenceCall"],
    ["Away", "Away"], ["DoNotDisturb", "Presenting"]];
  const PREFERRED_PAIRS = [["Available", "Available"], ["Busy", "Busy"], ["DoNotDisturb", "DoNotDisturb"],
    ["BeRightBack", "BeRightBack"], ["Away", "Away"], ["Offline", "OffWork"]];
  // Filter chips, in Teams order; idle variants count with their base availability.
  const FILTERS = [["Available", "Available", ["Available", "AvailableIdle"]],
    ["Busy", "Busy", ["Busy", "BusyIdle"]], ["DoNotDisturb", "Do not disturb", ["DoNotDisturb"]],
    ["Away", "Away", ["Away", "BeRightBack"]], ["Offline", "Offline", ["Offline", "PresenceUnknown"]],
    ["OutOfOffice", "Out of office", null]];

  const $ = (id) => document.getElementById(id);
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  // -- state -----------------------------------------------------------------------------------------------
  const users = new Map();     // id -> user state (as /_emulator/state gives it), with parsed times
  let order = [];              // ids sorted by name
  let shown = [];              // ids passing the search and filter, in order
  let selectedId = null;
  const activeFilters = new Set();
  let query = "";
  const clock = { mode: "real", speed: 1, epochMs: Date.now(), at: performance.now() };
  const stats = { snapshots: 0, events: 0, lastRenderMs: 0, firstRenderAt: null };
  const flashing = new Set();

  // Graph's DateTimeOffset has seven fractional digits; keep milliseconds and parse once per update.
  const parseTime = (s) => (s ? Date.parse(s.length > 23 ? s.slice(0, 23) + "Z" : s) : null);

  function emulatedNow() {
    return clock.epochMs + (performance.now() - clock.at) * clock.speed;
  }

  function setClock(c) {
    clock.mode = c.mode;
    clock.speed = c.speed;
    clock.epochMs = c.epochMs;
    clock.at = performance.now();
    renderClock();
  }

  function ingest(u) {
    u._name = u.displayName || u.userPrincipalName || u.id;
    u._key = u._name.toLowerCase();
    u._hay = `${u.displayName || ""}\n${u.userPrincipalName || ""}\n${u.id}`.toLowerCase();
    u._oof = !!(u.outOfOfficeSettings && u.outOfOfficeSettings.isOutOfOffice);
    return u;
  }

  // Natural order, so that "Agent 2" comes before "Agent 10".
  const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
  const byName = (a, b) => collator.compare(users.get(a)._key, users.get(b)._key) || (a < b ? -1 : 1);

  function applySnapshot(data) {
    users.clear();
    for (const u of data.users) users.set(u.id, ingest(u));
    order = [...users.keys()].sort(byName);
    stats.snapshots += 1;
    setClock(data.clock);
    refilter();
    render();  // at once: a page just opened should not wait for the next frame
  }

  function applyUsers(data) {
    let reorder = false;
    for (const u of data.users) {
      const old = users.get(u.id);
      ingest(u);
      if (!old || old._key !== u._key) reorder = true;  // a newcomer, or a new display name
      else if (data.users.length <= 50) flashing.add(u.id);  // a burst is not worth flashing card by card
      users.set(u.id, u);
    }
    if (reorder) order = [...users.keys()].sort(byName);
    stats.events += 1;
    setClock(data.clock);
    refilter();
  }

  function matchesFilter(u) {
    if (activeFilters.size === 0) return true;
    for (const key of activeFilters) {
      if (key === "OutOfOffice") { if (u._oof || u.activity === "OutOfOffice") return true; continue; }
      const f = FILTERS.find((x) => x[0] === key);
      if (f && f[2].includes(u.availability)) return true;
    }
    return false;
  }

  function refilter() {
    const q = query;
    shown = order.filter((id) => {
      const u = users.get(id);
      return (!q || u._hay.includes(q)) && matchesFilter(u);
    });
    scheduleRender();
  }

  // -- rendering -------------------------------------------------------------------------------------------
  const BADGE = {
    Available: '<circle cx="8" cy="8" r="7.5" fill="#6bb700"/><path d="M4.5 8.3l2.3 2.3 4.7-4.9" fill="none" stroke="#fff" stroke-width="1.7"/>',
    Busy: '<circle cx="8" cy="8" r="7.5" fill="#c4314b"/>',
    DoNotDisturb: '<circle cx="8" cy="8" r="7.5" fill="#c4314b"/><rect x="4" y="7" width="8" height="2" rx=".5" fill="#fff"/>',
    Away: '<circle cx="8" cy="8" r="7.5" fill="#ffaa44"/><path d="M8 4v4.3l2.6 1.6" fill="none" stroke="#fff" stroke-width="1.6" stroke-linecap="round"/>',
    Offline: '<circle cx="8" cy="8" r="6.8" fill="#fff" stroke="#8a8886" stroke-width="1.4"/><path d="M5.6 5.6l4.8 4.8M10.4 5.6l-4.8 4.8" stroke="#8a8886" stroke-width="1.4"/>',
    Unknown: '<circle cx="8" cy="8" r="6.8" fill="#fff" stroke="#8a8886" stroke-width="1.4"/><path d="M6.3 6.3a1.8 1.8 0 1 1 2.4 1.7c-.5.2-.7.5-.7 1v.5" fill="none" stroke="#8a8886" stroke-width="1.3"/><circle cx="8" cy="11.4" r=".8" fill="#8a8886"/>',
    OutOfOffice: '<circle cx="8" cy="8" r="7.5" fill="#b4009e"/><path d="M11.5 8H5m2.6-2.7L4.9 8l2.7 2.7" fill="none" stroke="#fff" stroke-width="1.6" stroke-linecap="round"/>',
  };

  function badgeKind(availability, activity) {
    if (activity === "OutOfOffice") return "OutOfOffice";
    switch (availability) {
      case "Available": case "AvailableIdle": return "Available";
      case "Busy": case "BusyIdle": return "Busy";
      case "DoNotDisturb": return "DoNotDisturb";
      case "Away": case "BeRightBack": return "Away";
      case "Offline": return "Offline";
      default: return "Unknown";
    }
  }

  function badge(availability, activity, big) {
    const kind = badgeKind(availability, activity);
    return `<svg class="badge${big ? " big" : ""}" data-kind="${kind}" viewBox="0 0 16 16" role="img" ` +
      `aria-label="${esc(availability)}">${BADGE[kind]}</svg>`;
  }

  function countdown(until) {
    if (until == null) return "";
    let s = Math.ceil((until - emulatedNow()) / 1000);
    if (s <= 0) return "due";
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const mmss = `${String(m).padStart(h || d ? 2 : 1, "0")}:${String(s).padStart(2, "0")}`;
    if (d) return `${d}d ${String(h).padStart(2, "0")}:${mmss}`;
    return h ? `${h}:${mmss}` : mmss;
  }

  // "4:59 left", "in 1:00"; just "due" once the instant has come.
  function timeText(until, suffix, prefix) {
    const text = countdown(until);
    return text === "due" ? text : (prefix || "") + text + suffix;
  }

  const left = (until, suffix) => (until == null ? "" :
    `<span class="left" data-until="${until}" data-suffix="${suffix}">${timeText(until, suffix)}</span>`);

  function fadeNote(s) {
    // A fading session changes before it expires: to AvailableInactive first, then to Away.
    if (s.nextMs == null || s.nextMs === s.expiresMs) return "";
    const to = s.shownActivity === "AvailableInactive" ? "away" : "inactive";
    return `<span class="fade" data-until="${s.nextMs}" data-prefix="${to} in " data-suffix="">` +
      `${timeText(s.nextMs, "", `${to} in `)}</span>`;
  }

  function presenceLine(u) {
    return `<b>${esc(u.availability)}</b> <span class="activity">· ${esc(u.activity)}</span>` +
      (u._oof && u.activity !== "OutOfOffice" ? '<span class="tag">Out of office</span>' : "");
  }

  function preferredLine(p) {
    const activity = p.activity === p.availability ? "" : ` · ${esc(p.activity)}`;
    return `Preferred <b>${esc(p.availability)}</b>${activity} · ` +
      `<span data-until="${p.expiresMs}" data-suffix=" left">${timeText(p.expiresMs, " left")}</span>`;
  }

  function cardHtml(u) {
    const pref = u.preferredPresence;
    const overridden = pref && u.sessions.length ? " overridden" : "";
    const visible = u.sessions.slice(0, pref ? 1 : 2);
    const more = u.sessions.length - visible.length;
    return `<article class="card${flashing.has(u.id) ? " flash" : ""}" data-id="${esc(u.id)}" ` +
      `data-availability="${esc(u.availability)}" data-oof="${u._oof}" ` +
      `aria-selected="${u.id === selectedId}" tabindex="0">` +
      `<div class="card-head">${badge(u.availability, u.activity)}<div class="who">` +
      `<div class="name">${esc(u._name)}</div><div class="sub">${esc(u.userPrincipalName || (u._name === u.id ? "" : u.id))}</div></div></div>` +
      `<div class="presence">${presenceLine(u)}</div>` +
      (u.statusMessage ? `<div class="status">${esc(u.statusMessage.content)}</div>` : "") +
      (pref ? `<div class="preferred">${preferredLine(pref)}</div>` : "") +
      `<ul class="sessions${overridden}">` + visible.map((s) =>
        `<li><span class="sid">${esc(s.sessionId)}</span><span>${esc(s.shownActivity)}</span>` +
        `${fadeNote(s)}${left(s.expiresMs, " left")}</li>`).join("") +
      (more > 0 ? `<li>+${more} more</li>` : "") +
      (u.sessions.length === 0 ? "<li>no sessions</li>" : "") + "</ul></article>";
  }

  // The grid is windowed: cards have one fixed height, so the rows in view are known from the scroll offset
  // and only those (plus a margin) are in the DOM, whatever the number of users.
  const grid = $("grid"), sizer = $("grid-sizer"), items = $("grid-items");
  const CARD_MIN_W = 260, GAP = 10, PAD = 16, OVERSCAN = 2;
  let renderQueued = false;

  function cardHeight() {
    return parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--card-h")) || 172;
  }

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { if (renderQueued) render(); });
  }

  function render() {
    renderQueued = false;
    const t0 = performance.now();
    const width = grid.clientWidth - 2 * PAD;
    const cols = Math.max(1, Math.floor((width + GAP) / (CARD_MIN_W + GAP)));
    const rowH = cardHeight() + GAP;
    const rows = Math.ceil(shown.length / cols);
    sizer.style.height = `${rows * rowH + GAP}px`;
    const first = Math.max(0, Math.floor(grid.scrollTop / rowH) - OVERSCAN);
    const last = Math.min(rows, Math.ceil((grid.scrollTop + grid.clientHeight) / rowH) + OVERSCAN);
    items.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    items.style.transform = `translateY(${first * rowH + GAP}px)`;
    const html = [];
    for (let i = first * cols; i < Math.min(shown.length, last * cols); i++) html.push(cardHtml(users.get(shown[i])));
    items.innerHTML = html.join("");
    flashing.clear();
    renderCounts();
    const empty = $("empty");
    empty.hidden = shown.length > 0;
    empty.textContent = users.size ? "No user matches." : "No users yet: set a presence through the API, or load a scenario.";
    if (selectedId) renderDrawer();
    stats.lastRenderMs = performance.now() - t0;
    if (stats.firstRenderAt == null && stats.snapshots) stats.firstRenderAt = performance.now();
  }

  function renderCounts() {
    const counts = new Map(FILTERS.map((f) => [f[0], 0]));
    for (const u of users.values()) {
      for (const f of FILTERS) if (f[2] && f[2].includes(u.availability)) counts.set(f[0], counts.get(f[0]) + 1);
      if (u._oof || u.activity === "OutOfOffice") counts.set("OutOfOffice", counts.get("OutOfOffice") + 1);
    }
    for (const chip of $("filters").children) {
      chip.querySelector(".n").textContent = counts.get(chip.dataset.filter);
    }
    $("count").textContent = `${shown.length.toLocaleString("en")} of ${users.size.toLocaleString("en")} users`;
  }

  function renderClock() {
    const mode = $("clock-mode");
    mode.dataset.mode = clock.mode;
    mode.textContent = clock.mode === "speed" ? `speed ×${clock.speed}` : clock.mode;
    $("clock-pause").textContent = clock.mode === "manual" ? "Resume" : "Pause";
    const speed = $("clock-speed");
    const value = clock.mode === "manual" ? "manual" : String(clock.mode === "real" ? 1 : clock.speed);
    if (![...speed.options].some((o) => o.value === value)) speed.add(new Option(`×${value}`, value));
    speed.value = value;
    tick();
  }

  // Countdowns and the clock reading move every quarter second; only what is on screen is touched.
  function tick() {
    const now = emulatedNow();
    $("clock-now").textContent = new Date(now).toISOString().replace("T", " ").slice(0, 19) + "Z";
    for (const el of document.querySelectorAll("[data-until]")) {
      const until = Number(el.dataset.until);
      el.textContent = timeText(until, el.dataset.suffix, el.dataset.prefix);
      el.classList.toggle("soon", until - now < 60000);
    }
  }

  // -- the drawer: one user, and the forms that drive them ------------------------------------------------
  function select(id) {
    selectedId = id;
    $("drawer").hidden = !id;
    $("d-error").hidden = true;
    if (id) {
      const u = users.get(id);
      $("o-on").checked = !!(u && u._oof);
      $("o-message").value = (u && u.outOfOfficeSettings.message) || "";
      $("m-content").value = (u && u.statusMessage && u.statusMessage.content) || "";
    }
    scheduleRender();
  }

  function renderDrawer() {
    const u = users.get(selectedId);
    if (!u) { select(null); return; }
    $("d-badge").innerHTML = badge(u.availability, u.activity, true);
    $("d-name").textContent = u._name;
    $("d-sub").textContent = [u.userPrincipalName, u.id].filter(Boolean).join(" · ");
    $("d-presence").innerHTML = presenceLine(u) +
      (u.statusMessage ? `<div class="status">${esc(u.statusMessage.content)}` +
        (u.statusMessage.expiresMs ? ` · <span data-until="${u.statusMessage.expiresMs}" data-suffix=" left">` +
          `${timeText(u.statusMessage.expiresMs, " left")}</span>` : "") + "</div>" : "") +
      (u._oof && u.outOfOfficeSettings.message ? `<div class="status">OOF: ${esc(u.outOfOfficeSettings.message)}</div>` : "") +
      (u.preferredPresence ? `<div class="preferred">${preferredLine(u.preferredPresence)}` +
        (u.sessions.length ? " — shown over the sessions" : " — no live session, so Offline") + "</div>" : "");
    $("d-sessions").innerHTML = u.sessions.length ? u.sessions.map((s) =>
      `<li><span><b>${esc(s.sessionId)}</b> <span class="meta">${s.source === "teams" ? "Teams client" : "application"}</span></span>` +
      `<button type="button" class="btn small" data-end="${esc(s.sessionId)}" data-source="${esc(s.source)}">End</button>` +
      `<span>${esc(s.shownAvailability)} · ${esc(s.shownActivity)}` +
      (s.shownActivity !== s.activity || s.shownAvailability !== s.availability ? ` <span class="meta">(set ${esc(s.availability)} · ${esc(s.activity)})</span>` : "") +
      `</span><span class="meta">${fadeNote(s)} ${s.expiresMs == null ? "no expiry" : left(s.expiresMs, " left")}</span></li>`).join("")
      : '<li><span class="none">No session: the user reads Offline.</span></li>';
  }

  // With strict auth on, Graph wants a bearer token: the dashboard then acts as an application with a token
  // the emulator mints for it (POST /_emulator/token), and mints a new one whenever Graph refuses the old one.
  let appToken = null;
  async function mintAppToken() {
    const resp = await fetch(`${CONTROL}/token`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ roles: ["Presence.ReadWrite.All"], appid: DEFAULT_APP_ID }) });
    appToken = resp.ok ? (await resp.json()).access_token : null;
    return appToken;
  }

  async function call(method, url, body) {
    $("d-error").hidden = true;
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const graph = url.startsWith(API);
    if (graph && appToken) init.headers.Authorization = `Bearer ${appToken}`;
    let resp = await fetch(url, init);
    if (graph && (resp.status === 401 || resp.status === 403) && await mintAppToken()) {
      init.headers.Authorization = `Bearer ${appToken}`;
      resp = await fetch(url, init);
    }
    if (!resp.ok) {
      let message = `${method} ${url}: ${resp.status}`;
      try { const e = await resp.json(); if (e.error) message = `${e.error.code}: ${e.error.message}`; } catch (_) { /* not JSON */ }
      const box = $("d-error");
      box.textContent = message;
      box.hidden = false;
      throw new Error(message);
    }
    return resp;
  }
  const userUrl = (id) => `${API}/users/${encodeURIComponent(id)}/presence`;
  const quietly = (promise) => promise.catch(() => { /* shown in the drawer */ });

  function fillPairs(select, pairs) {
    select.innerHTML = pairs.map(([a, b]) => `<option value="${a}/${b}">${a} / ${b}</option>`).join("");
  }

  function wireForms() {
    $("t-preset").innerHTML = TEAMS_STATES.map(([label, a, b]) =>
      `<option value="${a}/${b}">${label} (${a} / ${b})</option>`).join("") + '<option value="">Custom…</option>';
    $("t-availability").innerHTML = AVAILABILITIES.map((a) => `<option>${a}</option>`).join("");
    $("t-activity").innerHTML = ACTIVITIES.map((a) => `<option>${a}</option>`).join("");
    const syncPreset = () => {
      const [a, b] = $("t-preset").value.split("/");
      if (a) { $("t-availability").value = a; $("t-activity").value = b; }
    };
    $("t-preset").addEventListener("change", syncPreset);
    const toCustom = () => {
      const v = `${$("t-availability").value}/${$("t-activity").value}`;
      $("t-preset").value = [...$("t-preset").options].some((o) => o.value === v) ? v : "";
    };
    $("t-availability").addEventListener("change", toCustom);
    $("t-activity").addEventListener("change", toCustom);
    syncPreset();
    fillPairs($("a-pair"), SET_PRESENCE_PAIRS);
    fillPairs($("p-pair"), PREFERRED_PAIRS);
    $("a-session").value = DEFAULT_APP_ID;

    for (const radio of document.querySelectorAll('input[name="s-kind"]')) {
      radio.addEventListener("change", () => {
        const app = document.querySelector('input[name="s-kind"]:checked').value === "application";
        $("f-app").hidden = !app;
        $("f-teams").hidden = app;
      });
    }
    $("f-teams").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body = { availability: $("t-availability").value, activity: $("t-activity").value,
        sessionId: $("t-session").value.trim() || undefined, fades: $("t-fades").checked };
      if ($("t-duration").value) body.expirationDuration = $("t-duration").value;
      quietly(call("POST", `${CONTROL}/users/${encodeURIComponent(selectedId)}/sessions`, body));
    });
    $("f-app").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const [availability, activity] = $("a-pair").value.split("/");
      quietly(call("POST", `${userUrl(selectedId)}/setPresence`, { sessionId: $("a-session").value.trim(),
        availability, activity, expirationDuration: $("a-duration").value }));
    });
    $("d-sessions").addEventListener("click", (ev) => {
      const button = ev.target.closest("[data-end]");
      if (!button) return;
      const sid = button.dataset.end;
      if (button.dataset.source === "teams") {
        quietly(call("DELETE", `${CONTROL}/users/${encodeURIComponent(selectedId)}/sessions/${encodeURIComponent(sid)}`));
      } else {
        quietly(call("POST", `${userUrl(selectedId)}/clearPresence`, { sessionId: sid }));
      }
    });
    $("f-preferred").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const [availability, activity] = $("p-pair").value.split("/");
      const body = { availability, activity };
      if ($("p-duration").value) body.expirationDuration = $("p-duration").value;
      quietly(call("POST", `${userUrl(selectedId)}/setUserPreferredPresence`, body));
    });
    $("p-clear").addEventListener("click", () => quietly(call("POST", `${userUrl(selectedId)}/clearUserPreferredPresence`)));
    $("f-status").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const message = { message: { content: $("m-content").value, contentType: "text" } };
      const after = Number($("m-expiry").value);
      if (after) {
        // The expiry is an instant on the emulated clock, written as UTC.
        const at = new Date(emulatedNow() + after * 1000).toISOString().slice(0, 19);
        message.expiryDateTime = { dateTime: at, timeZone: "UTC" };
      }
      quietly(call("POST", `${userUrl(selectedId)}/setStatusMessage`, { statusMessage: message }));
    });
    $("m-clear").addEventListener("click", () => {
      $("m-content").value = "";
      quietly(call("POST", `${userUrl(selectedId)}/setStatusMessage`, { statusMessage: { message: { content: "", contentType: "text" } } }));
    });
    $("f-oof").addEventListener("submit", (ev) => {
      ev.preventDefault();
      quietly(call("POST", `${CONTROL}/users/${encodeURIComponent(selectedId)}/outOfOffice`,
        { isOutOfOffice: $("o-on").checked, message: $("o-message").value || null }));
    });
    $("d-close").addEventListener("click", () => select(null));
  }

  // -- clock controls --------------------------------------------------------------------------------------
  let lastSpeed = "1";
  function setClockMode(value) {
    const body = value === "manual" ? { mode: "manual" } : value === "1" ? { mode: "real" } : { mode: "speed", speed: Number(value) };
    return fetch(`${CONTROL}/clock`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then((r) => r.json()).then((c) => setClock({ ...c, epochMs: parseTime(c.now) }));
  }
  function wireClock() {
    $("clock-pause").addEventListener("click", () => {
      if (clock.mode === "manual") setClockMode(lastSpeed);
      else { lastSpeed = clock.mode === "real" ? "1" : String(clock.speed); setClockMode("manual"); }
    });
    $("clock-speed").addEventListener("change", (ev) => {
      if (clock.mode !== "manual") lastSpeed = clock.mode === "real" ? "1" : String(clock.speed);
      setClockMode(ev.target.value);
    });
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", () => fetch(`${CONTROL}/clock/advance`, { method: "POST", body: button.dataset.advance }));
    }
  }

  // -- search, filter, grid events -------------------------------------------------------------------------
  function wireUsers() {
    $("filters").innerHTML = FILTERS.map(([key, label]) =>
      `<button type="button" class="chip" data-filter="${key}" aria-pressed="false">` +
      `${badge(key === "OutOfOffice" ? "Available" : key, key)}${label} <span class="n">0</span></button>`).join("");
    $("filters").addEventListener("click", (ev) => {
      const chip = ev.target.closest(".chip");
      if (!chip) return;
      const key = chip.dataset.filter;
      if (activeFilters.has(key)) activeFilters.delete(key); else activeFilters.add(key);
      chip.setAttribute("aria-pressed", String(activeFilters.has(key)));
      grid.scrollTop = 0;
      refilter();
    });
    $("search").addEventListener("input", (ev) => {
      query = ev.target.value.trim().toLowerCase();
      grid.scrollTop = 0;
      refilter();
    });
    grid.addEventListener("scroll", scheduleRender, { passive: true });
    window.addEventListener("resize", scheduleRender);
    items.addEventListener("click", (ev) => {
      const card = ev.target.closest(".card");
      if (card) select(card.dataset.id);
    });
    items.addEventListener("keydown", (ev) => {
      const card = ev.target.closest(".card");
      if (card && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); select(card.dataset.id); }
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && selectedId) select(null);
      const typing = ev.target.closest && ev.target.closest("input, select, textarea");
      if (ev.key === "/" && !typing) { ev.preventDefault(); $("search").focus(); }
    });
  }

  // -- subscriptions, deliveries, lifecycle events and the request journal --------------------------------
  // Each panel reads one endpoint while it is open (the first of its URLs that answers). An emulator built
  // without that capability answers with an error, and the panel says so instead of failing.
  const firstLifecycleEvent = (d) => d.lifecycleEvent ||
    (d.payload && Array.isArray(d.payload.value) && d.payload.value[0] && d.payload.value[0].lifecycleEvent) || null;
  const PANELS = {
    // Every application's subscriptions (the control plane's view); Graph's list shows only the caller's.
    subscriptions: { urls: [`${CONTROL}/subscriptions`, `${API}/subscriptions`], actions: true,
      columns: ["id", "resource", "applicationId", "changeType", "expirationDateTime", "notificationUrl",
        "lifecycleNotificationUrl", "includeResourceData", "clientState"] },
    deliveries: { urls: [`${CONTROL}/deliveries`], tail: true,
      columns: ["dateTime", "kind", "status", "httpStatus", "attempt", "latencyMs", "nextRetryDateTime", "url",
        "subscriptionIds", "error"] },
    lifecycle: { urls: [`${CONTROL}/deliveries?kind=lifecycle`], tail: true,
      derive: (d) => ({ ...d, lifecycleEvent: firstLifecycleEvent(d) }),
      columns: ["dateTime", "lifecycleEvent", "status", "httpStatus", "attempt", "latencyMs", "nextRetryDateTime",
        "url", "subscriptionIds", "error"] },
    // A scenario's timeline: what is still to come (soonest first, counting down), then what has run.
    timeline: { urls: [`${CONTROL}/timeline?limit=100`],
      extract: (body) => [
        ...((body.upcoming && body.upcoming.items) || []).map(({ dateTime, ...i }) => ({ ...i, due: dateTime, outcome: "upcoming" })),
        ...((body.ran && body.ran.items) || []).slice().reverse()],
      columns: ["due", "dateTime", "outcome", "userPrincipalName", "user", "action", "source"] },
    requests: { urls: [`${CONTROL}/requests?limit=200`], tail: true,
      columns: ["dateTime", "method", "path", "query", "status", "latencyMs", "applicationId", "userId", "fault",
        "throttled", "clientRequestId", "requestId"] },
  };
  const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"];
  let openPanel = null, panelTimer = null;
  let deliveriesOf = null;  // a subscription id: the deliveries panel shows only its deliveries

  // Polling replaces a panel only when what it shows changed, so a button is never pulled away mid-click.
  function setPanel(html) {
    const body = $("panel-body");
    if (body.dataset.html !== html) { body.innerHTML = html; body.dataset.html = html; }
  }

  const itemsOf = (body) => (Array.isArray(body) ? body : Array.isArray(body.value) ? body.value : []);

  const ISO = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/;
  // Instants yet to come (a retry, an expiry) also count down on the emulated clock.
  const COUNTDOWN_COLUMNS = new Set(["nextRetryDateTime", "expirationDateTime", "due"]);

  function cell(v, col) {
    if (v == null) return "";
    if (Array.isArray(v)) return esc(v.join(", "));
    if (typeof v === "object") return esc(JSON.stringify(v));
    const m = typeof v === "string" && ISO.exec(v);
    if (m) {
      const until = COUNTDOWN_COLUMNS.has(col) ? parseTime(v) : null;
      return `${m[1]} ${m[2]}` + (until ? ` <span class="meta">(<span data-until="${until}" data-prefix="in " data-suffix=""></span>)</span>` : "");
    }
    return esc(v);
  }

  function statusClass(col, v) {
    if (col !== "status" && col !== "httpStatus") return "";
    const n = Number(v);
    if ((n >= 200 && n < 300) || v === "delivered") return "ok";
    if (n >= 400 || ["failed", "timedOut", "refused", "error", "invalidResponse", "dropped", "discarded"].includes(v)) return "bad";
    return "";
  }

  async function fetchPanel(panel) {
    let last = null;
    for (const url of panel.urls) {
      try { last = { url, resp: await fetch(url, { headers: { Accept: "application/json" } }) }; } catch (_) { return null; }
      if (last.resp.ok) return last;
    }
    return last;
  }

  async function loadPanel() {
    const name = openPanel;
    if (!name) return;
    let panel = PANELS[name];
    const scopeAt = deliveriesOf;
    if (name === "deliveries" && deliveriesOf) {
      panel = { ...panel, urls: [`${CONTROL}/deliveries?subscriptionId=${encodeURIComponent(deliveriesOf)}`] };
    }
    const got = await fetchPanel(panel);
    if (!got || name !== openPanel || scopeAt !== deliveriesOf) return;  // the user moved on meanwhile
    if (!got.resp.ok) {
      // 404 (or Graph's 400 for an unknown segment): this emulator does not have the capability (yet).
      setPanel(`<p class="unavailable" data-unavailable="${name}">Not available in this emulator: ` +
        `GET ${esc(got.url)} answered ${got.resp.status}.</p>`);
      return;
    }
    let data;
    try { data = await got.resp.json(); } catch (_) { data = []; }
    let rows = panel.extract ? panel.extract(data) : itemsOf(data);
    if (panel.derive) rows = rows.map(panel.derive);
    if (panel.tail) rows = rows.slice(-200).reverse();  // newest first
    if (!rows.length) {
      setPanel(`<p class="unavailable" data-empty="${name}">Nothing yet.</p>`);
      return;
    }
    // Known columns only: payloads and certificates would drown the table.
    let cols = panel.columns.filter((c) => rows.some((r) => r[c] !== undefined));
    if (!cols.length) cols = Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object").slice(0, 10);
    const actions = panel.actions && got.url.startsWith(CONTROL);
    const scope = name === "deliveries" && deliveriesOf ? `<p class="scope">Deliveries of subscription ` +
      `${esc(deliveriesOf)} <button type="button" class="btn small" data-deliveries-of="">show all</button></p>` : "";
    setPanel(scope + `<table data-panel="${name}"><thead><tr>${actions ? "<th>send lifecycle event</th>" : ""}` +
      `${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>` +
      rows.map((r) => "<tr>" + (actions ? `<td class="actions">${LIFECYCLE_EVENTS.map((e) =>
        `<button type="button" class="btn small" data-lifecycle="${e}" data-subscription="${esc(r.id)}">${e}</button>`)
        .join(" ")} <button type="button" class="btn small" data-deliveries-of="${esc(r.id)}">deliveries</button></td>` : "") +
        `${cols.map((c) => `<td class="${statusClass(c, r[c])}">${cell(r[c], c)}</td>`).join("")}</tr>`).join("") +
      "</tbody></table>");
    tick();
  }

  async function sendLifecycle(subscriptionId, event) {
    const resp = await fetch(`${CONTROL}/subscriptions/${encodeURIComponent(subscriptionId)}/lifecycle`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ lifecycleEvent: event }) });
    if (!resp.ok) {
      let message = `${resp.status}`;
      try { const e = await resp.json(); message = `${e.error.code}: ${e.error.message}`; } catch (_) { /* not JSON */ }
      window.alert(`Could not send ${event}: ${message}`);
    }
    loadPanel();
  }

  function showDeliveriesOf(subscriptionId) {
    openPanel = null;
    document.querySelector('.tab[data-panel="deliveries"]').click();  // opens the tab (and clears the scope)
    deliveriesOf = subscriptionId;
    loadPanel();
  }

  function wirePanels() {
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => {
        const name = tab.dataset.panel;
        openPanel = openPanel === name ? null : name;
        if (name === "deliveries") deliveriesOf = null;
        for (const t of document.querySelectorAll(".tab")) t.setAttribute("aria-selected", String(t.dataset.panel === openPanel));
        $("panel-body").hidden = !openPanel;
        setPanel("");
        clearInterval(panelTimer);
        if (openPanel) { loadPanel(); panelTimer = setInterval(loadPanel, 2000); }
        scheduleRender();
      });
    }
    $("panel-body").addEventListener("click", (ev) => {
      const button = ev.target.closest("[data-lifecycle]");
      if (button) sendLifecycle(button.dataset.subscription, button.dataset.lifecycle);
      const scoped = ev.target.closest("[data-deliveries-of]");
      if (scoped) showDeliveriesOf(scoped.dataset.deliveriesOf || null);
    });
  }

  // -- the live feed ---------------------------------------------------------------------------------------
  function connect() {
    const status = $("connection");
    const source = new EventSource(`${CONTROL}/events`);
    source.addEventListener("open", () => { status.dataset.state = "live"; status.textContent = "live"; });
    source.addEventListener("error", () => { status.dataset.state = "lost"; status.textContent = "reconnecting…"; });
    source.addEventListener("snapshot", (ev) => {
      const t0 = performance.now();
      const data = JSON.parse(ev.data);
      const t1 = performance.now();
      applySnapshot(data);
      Object.assign(stats, { snapshotAt: t0, parseMs: t1 - t0, applyMs: performance.now() - t1 });
    });
    source.addEventListener("users", (ev) => applyUsers(JSON.parse(ev.data)));
    source.addEventListener("clock", (ev) => setClock(JSON.parse(ev.data)));
    return source;
  }

  wireForms();
  wireClock();
  wireUsers();
  wirePanels();
  setInterval(tick, 250);
  // For tests and curious developers: the page's state, read-only by convention.
  window.dashboard = { users, stats, clock, emulatedNow, get shown() { return shown; }, source: connect() };
})();
