// Shared by the pages: the token, authenticated fetches, server-sent events over fetch, and
// small DOM helpers.
// Every piece of data is put on the page with textContent (never innerHTML), so names,
// messages and diffs from Git or the cluster are shown as text, never run.
"use strict";

const Dashboard = (() => {
  const TOKEN_KEY = "reconciler.token";
  let role = null;
  let via = "";
  let canWrite = false;
  let started = false;
  let onReady = null;
  const streams = new Set();

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  function headers(extra) {
    const h = Object.assign({ Accept: "application/json" }, extra || {});
    if (token()) h.Authorization = "Bearer " + token();
    return h;
  }

  // Fetch JSON; a 401 sends the user back to the sign-in form with the server's reason.
  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = headers(opts.headers);
    let response;
    try {
      response = await fetch(path, opts);
    } catch (err) {
      return { ok: false, status: 0, body: { error: "the server cannot be reached: " + err.message } };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_err) {
      body = { error: response.status + " " + response.statusText };
    }
    if (response.status === 401) showLogin(errorText(body));
    return { ok: response.ok, status: response.status, body: body };
  }

  function errorText(body) {
    if (!body) return "";
    const problems = Array.isArray(body.problems) && body.problems.length ? " (" + body.problems.join("; ") + ")" : "";
    return (body.error || body.detail || "") + problems;
  }

  function postJSON(path, payload) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  }

  function showLogin(reason) {
    stopStreams();
    started = false;
    document.getElementById("main").hidden = true;
    document.getElementById("session").hidden = true;
    document.getElementById("login").hidden = false;
    document.getElementById("login-reason").textContent = reason || "";
    const input = document.getElementById("login-token");
    input.value = "";
    input.focus();
  }

  async function authenticate() {
    const who = await api("/ui/api/whoami");
    if (!who.ok) {
      if (who.status !== 401) showLogin(errorText(who.body));
      return;
    }
    role = who.body.role;
    via = who.body.via || "";
    canWrite = Boolean(who.body.canWrite);
    document.body.dataset.role = role;
    const login = document.getElementById("login");
    const wasSigningIn = !login.hidden;
    login.hidden = true;
    document.getElementById("main").hidden = false;
    if (wasSigningIn) {
      // The form just vanished: put keyboard and screen-reader focus on the page's heading.
      const heading = document.querySelector("main h1");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
    const session = document.getElementById("session");
    session.hidden = false;
    document.getElementById("role-badge").textContent =
      role === "anonymous" ? "no authentication" : "signed in: " + (via === "sso" ? who.body.name : role);
    document.getElementById("sign-out").hidden = !token() && via !== "sso";
    if (!started && onReady) {
      started = true;
      onReady({ role: role, canWrite: canWrite });
    }
  }

  function start(ready) {
    onReady = ready;
    setInterval(refreshTimes, 15000); // ages the shown times; asks the server nothing
    document.getElementById("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = document.getElementById("login-token").value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      authenticate();
    });
    document.getElementById("sign-out").addEventListener("click", async () => {
      if (!token() && via === "sso") await postJSON("/auth/logout", {}); // ends the session, drops the cookie
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("Signed out.");
    });
    const sso = document.getElementById("sso-login");
    if (sso) {
      // Come back to this page after the provider's login.
      sso.href = "/auth/login?return_to=" + encodeURIComponent(location.pathname + location.search);
    }
    // A failed single sign-on comes back with its reason (see /auth/callback).
    const query = new URLSearchParams(location.search);
    const ssoError = query.get("sso_error");
    if (ssoError) {
      query.delete("sso_error");
      const rest = query.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
      showLogin("Single sign-on failed: " + ssoError);
      return;
    }
    authenticate();
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Split a growing text buffer into SSE events; returns the text after the last complete one.
  function parseEvents(buffer, onEvent, onComment) {
    const blocks = buffer.replace(/\r\n?/g, "\n").split("\n\n");
    const rest = blocks.pop();
    for (const block of blocks) {
      const event = { type: "message", data: [], id: null };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) { onComment(line.slice(1).trim()); continue; }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.type = value;
        else if (field === "data") event.data.push(value);
        else if (field === "id") event.id = value;
      }
      if (event.data.length || event.type !== "message") onEvent(event.type, event.data.join("\n"), event.id);
    }
    return rest;
  }

  // Server-sent events read with fetch, so the Authorization header goes with them (EventSource
  // cannot send it). handlers: {open(), subscribed(), <event type>(data, id), end()}. The stream
  // comes back after a pause with Last-Event-ID unless `once`; a 401 or an `unauthorized` event
  // (the credentials stopped authenticating) ends it and shows the sign-in form.
  function stream(path, handlers, once) {
    let lastId = "";
    let stopped = false;
    let controller = null;
    const handle = { close() { stopped = true; streams.delete(handle); if (controller) controller.abort(); } };
    streams.add(handle);
    const call = (name, ...args) => { if (handlers[name]) handlers[name](...args); };
    const run = async () => {
      while (!stopped) {
        controller = new AbortController();
        const extra = { Accept: "text/event-stream" };
        if (lastId) extra["Last-Event-ID"] = lastId;
        let response = null;
        try {
          response = await fetch(path, { headers: headers(extra), signal: controller.signal });
        } catch (_err) {
          response = null;
        }
        if (stopped) return;
        if (response && response.status === 401) { showLogin("Signed out: the credentials no longer authenticate."); return; }
        if (response && response.ok) {
          call("open");
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer = parseEvents(buffer + value, (type, data, id) => {
                if (id) lastId = id;
                if (type === "unauthorized") { stopped = true; showLogin(JSON.parse(data).reason); return; }
                call(type, data, id);
              }, (comment) => { if (comment === "subscribed") call("subscribed"); });
              if (stopped) { controller.abort(); return; }
            }
          } catch (_err) {
            if (stopped) return;
          }
        } else if (response) {
          let body = null;
          try { body = await response.json(); } catch (_err) { body = { error: response.status + " " + response.statusText }; }
          call("failed", errorText(body), response.status);
          if (once || response.status === 403 || response.status === 404) { stopped = true; }
        }
        if (once) { stopped = true; call("end"); return; }
        if (!stopped) await sleep(1000);
      }
    };
    run();
    return handle;
  }

  function stopStreams() {
    for (const handle of [...streams]) handle.close();
  }

  // el("a", {href: "/x", class: "y"}, "text", childNode, ...)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const STATUS_CLASS = {
    Synced: "ok", Healthy: "ok", Succeeded: "ok",
    OutOfSync: "warn", Progressing: "info", Running: "info", Terminating: "info", Suspended: "muted",
    Missing: "warn", Extra: "warn",
    Degraded: "bad", Failed: "bad", Error: "bad",
    Unknown: "muted",
    Warning: "warn", Normal: "muted", // Kubernetes Event types
  };

  function badge(value, title) {
    const text = value || "Unknown";
    return el("span", { class: "badge " + (STATUS_CLASS[text] || "muted"), title: title || null }, text);
  }

  function shortSha(sha, url) {
    if (!sha) return el("span", { class: "muted" }, "–");
    const text = /^[0-9a-f]{40,64}$/i.test(sha) ? sha.slice(0, 7) : sha;
    if (url) return el("a", { href: url, class: "sha", title: sha, rel: "noreferrer", target: "_blank" }, text);
    return el("code", { class: "sha", title: sha }, text);
  }

  function relative(seconds) {
    const abs = Math.abs(seconds);
    let text;
    if (abs < 60) text = Math.round(abs) + " s";
    else if (abs < 3600) text = Math.round(abs / 60) + " min";
    else if (abs < 86400) text = Math.round(abs / 3600) + " h";
    else text = Math.round(abs / 86400) + " d";
    return seconds >= 0 ? text + " ago" : "in " + text;
  }

  // A <time> with the relative age as text and the full local time as its tooltip.
  function time(ts) {
    if (!ts) return el("span", { class: "muted" }, "never");
    const date = new Date(ts * 1000);
    return el("time", { datetime: date.toISOString(), title: date.toLocaleString(), "data-ts": ts },
      relative(Date.now() / 1000 - ts));
  }

  // Relative times age between refreshes even when the data did not change.
  function refreshTimes() {
    for (const node of document.querySelectorAll("time[data-ts]")) {
      node.textContent = relative(Date.now() / 1000 - Number(node.dataset.ts));
    }
  }

  let noticeTimer = null;
  // Outcomes of actions, announced politely; a success fades after a while, an error stays.
  function notice(message, kind) {
    const box = document.getElementById("notice");
    box.className = "notice " + (kind || "");
    box.textContent = message;
    if (noticeTimer) clearTimeout(noticeTimer);
    if (kind === "ok") noticeTimer = setTimeout(() => { box.textContent = ""; }, 8000);
  }

  // Replace a container's content only when its data changed, so open <details>, focus
  // and scroll position survive an update.
  const lastRendered = new WeakMap();
  function renderIfChanged(container, data, render) {
    const key = JSON.stringify(data);
    if (lastRendered.get(container) === key) return;
    lastRendered.set(container, key);
    render(container, data);
  }

  return {
    start, api, postJSON, errorText, stream, hasToken: () => Boolean(token()), el, badge, shortSha, time, refreshTimes, notice, renderIfChanged,
    get canWrite() { return canWrite; },
  };
})();
