// The side panel of one graph node: its summary, live and desired manifests, the diff, why it
// is OutOfSync field by field, its Events (and those of what it owns) and its containers' logs
// (a container picker, the previous container, follow as a stream). Everything is read from the
// REST API when a tab is first shown, and put on the page as text.
"use strict";

const Panel = (() => {
  const { el, badge } = Dashboard;
  const LOG_KINDS = new Set(["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]);

  function create(appName) {
    const base = "/api/v1/applications/" + encodeURIComponent(appName);
    const panel = document.getElementById("panel");
    const body = document.getElementById("panel-body");
    let current = null; // {node, resource: Promise|null, tab}
    let follow = null;

    function stopFollow() {
      if (follow) follow.close();
      follow = null;
    }

    function declared(node) {
      return Boolean(node.sync) && !node.hook && node.kind !== "Application";
    }

    function tabsOf(node) {
      return {
        summary: true,
        live: declared(node) || Boolean(node.uid),
        desired: declared(node),
        diff: declared(node),
        why: declared(node),
        events: Boolean(node.uid),
        logs: Boolean(node.uid) && LOG_KINDS.has(node.kind) && (node.group || "") !== "argoproj.io",
      };
    }

    function resourceQuery(node) {
      return new URLSearchParams({ group: node.group || "", version: node.version || "", kind: node.kind,
        namespace: node.namespace || "", resourceName: node.name }).toString();
    }

    function resource() {
      if (!current.resource) current.resource = Dashboard.api(base + "/resource?" + resourceQuery(current.node));
      return current.resource;
    }

    function problem(answer) {
      return el("p", { class: "warning" }, "Could not read it: " + Dashboard.errorText(answer.body));
    }

    function summary(node) {
      const rows = [["Kind", node.kind], ["Namespace", node.namespace || "–"], ["Name", node.name]];
      if (node.sync) rows.push(["Sync status", node.sync]);
      rows.push(["Health", ((node.health || {}).status || "–") + ((node.health || {}).message ? ": " + node.health.message : "")]);
      for (const info of node.info || []) rows.push([info.name, info.value]);
      if ((node.images || []).length) rows.push(["Images", node.images.join(", ")]);
      if (node.createdAt) rows.push(["Created", node.createdAt]);
      const list = el("dl", { class: "summary panel-summary" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]).flat());
      const link = node.kind === "Application" && (node.group || "") === "argoproj.io"
        ? el("p", {}, el("a", { href: "/ui/apps/" + encodeURIComponent(node.name) }, "Open application " + node.name)) : null;
      const owned = !declared(node) && !node.hook && node.kind !== "Application"
        ? el("p", { class: "hint" }, "Made by a controller from one of the app's objects: Git does not declare it, so it has " +
          "no desired manifest.") : null;
      return [list, link, owned];
    }

    async function manifest(which) {
      const answer = await resource();
      if (!answer.ok) return problem(answer);
      const obj = which === "live" ? answer.body.liveManifest : answer.body.desiredManifest;
      if (!obj) return el("p", { class: "muted" }, which === "live" ? "Not in the cluster." : "Not in Git.");
      return el("pre", { class: "manifest", id: "manifest-" + which, tabindex: "0" }, Yaml.dump(obj));
    }

    async function diff() {
      const answer = await resource();
      if (!answer.ok) return problem(answer);
      if (!answer.body.diff) return el("p", { class: "muted", id: "no-diff" }, "No difference: the live object equals Git's.");
      const pre = el("pre", { class: "diff", id: "diff", tabindex: "0", "aria-label": "Diff: live (−) against Git (+)" });
      for (const line of answer.body.diff.split("\n")) {
        let cls = "";
        if (line.startsWith("+") && !line.startsWith("+++")) cls = "add";
        else if (line.startsWith("-") && !line.startsWith("---")) cls = "del";
        else if (line.startsWith("@@")) cls = "hunk";
        pre.append(el("span", { class: cls }, line), "\n");
      }
      return [el("p", { class: "hint" }, "Live (−) against Git (+)."), pre];
    }

    const show = (value) => (value === undefined ? "–" : typeof value === "string" ? value : JSON.stringify(value));

    async function why() {
      const answer = await resource();
      if (!answer.ok) return problem(answer);
      const reasons = answer.body.why || [];
      if (!reasons.length) return el("p", { class: "muted", id: "no-why" }, "Nothing differs that a field can be blamed for.");
      return el("table", { class: "results", id: "why" },
        el("thead", {}, el("tr", {}, ["Field", "Live", "Git", "Why"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, reasons.map((r) => el("tr", { "data-path": r.path },
          el("td", {}, el("code", {}, r.path)), el("td", {}, el("code", {}, show(r.live))),
          el("td", {}, el("code", {}, show(r.desired))), el("td", {}, r.reason)))));
    }

    async function events(node) {
      const query = new URLSearchParams({ resourceNamespace: node.namespace || "", resourceName: node.name,
        resourceUID: node.uid || "" });
      const answer = await Dashboard.api(base + "/events?" + query.toString());
      if (!answer.ok) return problem(answer);
      const items = answer.body.items || [];
      const notes = (answer.body.problems || []).map((p) => el("p", { class: "warning" }, p));
      if (!items.length) return [notes, el("p", { class: "muted", id: "no-events" }, "No events.")];
      return [notes, el("table", { class: "results", id: "events" },
        el("thead", {}, el("tr", {}, ["Type", "Reason", "Object", "Message", "Count", "Last seen"].map((h) =>
          el("th", { scope: "col" }, h)))),
        el("tbody", {}, items.map((e) => el("tr", { "data-reason": e.reason || "" },
          el("td", {}, badge(e.type || "Normal")),
          el("td", {}, e.reason || ""),
          el("td", {}, (e.involvedObject || {}).kind + "/" + (e.involvedObject || {}).name),
          el("td", { class: "message" }, e.message || ""),
          el("td", {}, String(e.count || 1)),
          el("td", {}, e.lastTimestamp || e.eventTime || e.firstTimestamp || "")))))];
    }

    function containersOf(obj) {
      const spec = (obj || {}).spec || {};
      const pod = spec.containers ? spec : ((spec.template || {}).spec ||
        (((spec.jobTemplate || {}).spec || {}).template || {}).spec || {});
      return (pod.containers || []).map((c) => c.name);
    }

    async function logs(node) {
      const answer = await resource();
      const containers = answer.ok ? containersOf(answer.body.liveManifest || answer.body.desiredManifest) : [];
      const picker = el("select", { id: "log-container" }, containers.map((c) => el("option", { value: c }, c)));
      const previous = el("input", { type: "checkbox", id: "log-previous" });
      const following = el("input", { type: "checkbox", id: "log-follow" });
      const out = el("pre", { class: "logs", id: "log-text", tabindex: "0", "aria-live": "off" });
      const status = el("p", { class: "muted", id: "log-status", "aria-live": "polite" });
      const load = () => readLogs(node, picker.value, previous.checked, following.checked, out, status);
      for (const input of [picker, previous, following]) input.addEventListener("change", load);
      const form = el("div", { class: "filters" },
        el("div", { class: "field" }, el("label", { for: "log-container" }, "Container"), picker),
        el("label", { class: "check" }, previous, " Previous container"),
        el("label", { class: "check" }, following, " Follow"));
      setTimeout(load, 0);
      return [form, status, out];
    }

    function logQuery(node, container, previous) {
      const query = new URLSearchParams({ namespace: node.namespace || "", tailLines: "500" });
      if (node.kind === "Pod") query.set("podName", node.name);
      else { query.set("kind", node.kind); query.set("resourceName", node.name); query.set("group", node.group || ""); }
      if (container) query.set("container", container);
      if (previous) query.set("previous", "true");
      return query;
    }

    async function readLogs(node, container, previous, following, out, status) {
      stopFollow();
      out.textContent = "";
      const query = logQuery(node, container, previous);
      if (!following) {
        status.textContent = "Reading…";
        const response = await fetchText(base + "/logs?" + query.toString());
        status.textContent = response.ok ? (response.text ? "" : "No log lines.") : "Could not read the logs: " + response.error;
        out.textContent = response.ok ? response.text : "";
        document.body.dataset.logs = "read";
        return;
      }
      query.set("follow", "true");
      status.textContent = "Following…";
      follow = Dashboard.stream(base + "/logs?" + query.toString(), {
        open() { document.body.dataset.logs = "following"; },
        message(line) { out.append(line + "\n"); out.scrollTop = out.scrollHeight; },
        error(text) { status.textContent = text; },
        failed(text) { status.textContent = "Could not follow the logs: " + text; },
        end() { if (status.textContent === "Following…") status.textContent = "The log stream ended."; },
      }, true);
    }

    async function fetchText(path) {
      const headers = {};
      const token = sessionStorage.getItem("reconciler.token");
      if (token) headers.Authorization = "Bearer " + token;
      try {
        const response = await fetch(path, { headers });
        if (response.ok) return { ok: true, text: await response.text() };
        let detail = response.status + " " + response.statusText;
        try { detail = Dashboard.errorText(await response.json()) || detail; } catch (_err) { /* keep the status */ }
        return { ok: false, error: detail };
      } catch (err) {
        return { ok: false, error: err.message };
      }
    }

    async function showTab(tab) {
      stopFollow();
      current.tab = tab;
      for (const button of panel.querySelectorAll("[role=tab]")) {
        button.setAttribute("aria-selected", String(button.dataset.tab === tab));
      }
      const node = current.node;
      const views = { summary: () => summary(node), live: () => manifest("live"), desired: () => manifest("desired"),
        diff, why, events: () => events(node), logs: () => logs(node) };
      body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
      body.dataset.tab = tab;
      const opened = current;
      const content = await views[tab]();
      if (current !== opened || current.tab !== tab) return; // another tab or node was chosen meanwhile
      body.replaceChildren(...[content].flat(2).filter(Boolean));
      body.dataset.loaded = tab;
    }

    function open(node, tab) {
      stopFollow();
      current = { node, resource: null, tab: "" };
      panel.hidden = false;
      document.getElementById("panel-title").textContent = node.kind + " " + node.name;
      document.getElementById("panel-badges").replaceChildren(node.sync ? badge(node.sync) : "",
        (node.health || {}).status ? badge(node.health.status) : "");
      const tabs = tabsOf(node);
      for (const button of panel.querySelectorAll("[role=tab]")) button.hidden = !tabs[button.dataset.tab];
      showTab(tab && tabs[tab] ? tab : (node.sync === "OutOfSync" ? "diff" : "summary"));
      document.getElementById("panel-close").focus();
    }

    function close() {
      stopFollow();
      current = null;
      panel.hidden = true;
    }

    for (const button of panel.querySelectorAll("[role=tab]")) {
      button.addEventListener("click", () => { if (current) showTab(button.dataset.tab); });
    }
    document.getElementById("panel-close").addEventListener("click", close);
    document.addEventListener("keydown", (event) => { if (event.key === "Escape" && current) close(); });

    return { open, close, get node() { return current ? current.node : null; } };
  }

  return { create };
})();
