// The resource graph of one app: the app, its objects, what they own (Deployment → ReplicaSet →
// Pod, Service → EndpointSlice, Job → Pod), child Applications and the last operation's hooks,
// laid out left to right as a tree (each node under its first owner shown), with edges drawn
// in SVG behind absolutely placed nodes. A filter keeps the nodes that match it and the path
// from the app to each of them.
"use strict";

const Graph = (() => {
  const { el, badge } = Dashboard;
  const COL = 290;
  const ROW = 82;
  const NODE_W = 240;
  const NODE_H = 68;
  const SVG_NS = "http://www.w3.org/2000/svg";

  function keyOf(node) {
    return [node.group || "", node.kind, node.namespace || "", node.name].join("/");
  }

  // {id, node, parent, children} for every node of the tree answer, the app as the root.
  function build(appName, tree) {
    const root = { id: "app", node: { kind: "Application", name: appName, group: "argoproj.io", isRoot: true },
      parent: null, children: [] };
    const byId = new Map([["app", root]]);
    const items = [];
    for (const node of tree.nodes || []) items.push({ id: node.uid || "key:" + keyOf(node), node });
    for (const hook of tree.hooks || []) {
      items.push({ id: "hook:" + (hook.uid || keyOf(hook)), node: Object.assign({}, hook, { hook: true }) });
    }
    for (const item of items) {
      if (!byId.has(item.id)) byId.set(item.id, Object.assign(item, { children: [] }));
    }
    for (const item of items) {
      const owner = (item.node.parentRefs || []).map((p) => p.uid).find((uid) => uid && byId.has(uid));
      item.parent = byId.get(owner || "app");
      item.parent.children.push(item);
    }
    const order = (a, b) => (a.node.hook - b.node.hook) || a.node.kind.localeCompare(b.node.kind) ||
      a.node.name.localeCompare(b.node.name);
    for (const item of byId.values()) item.children.sort(order);
    return root;
  }

  function matches(node, filter) {
    if (node.isRoot) return false;
    if (filter.kind && node.kind !== filter.kind) return false;
    if (filter.health && ((node.health || {}).status || "") !== filter.health) return false;
    if (filter.sync && (node.sync || "") !== filter.sync) return false;
    return true;
  }

  function filtered(item, filter, active) {
    const kids = item.children.map((c) => filtered(c, filter, active)).filter(Boolean);
    if (item.node.isRoot || !active || matches(item.node, filter) || kids.length) {
      return Object.assign({}, item, { children: kids });
    }
    return null;
  }

  // Columns by depth; a leaf takes the next row, a parent sits level with its first child.
  function layout(root) {
    const placed = [];
    let next = 0;
    const place = (item, depth) => {
      item.x = depth * COL;
      if (!item.children.length) {
        item.y = next * ROW;
        next += 1;
      } else {
        item.children.forEach((c) => place(c, depth + 1));
        item.y = item.children[0].y;
      }
      placed.push(item);
    };
    place(root, 0);
    return { placed, rows: Math.max(next, 1) };
  }

  function edge(svg, from, to) {
    const x1 = from.x + NODE_W;
    const y1 = from.y + NODE_H / 2;
    const x2 = to.x;
    const y2 = to.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
    path.setAttribute("class", "edge");
    svg.append(path);
  }

  function nodeBox(item, options) {
    const node = item.node;
    const label = node.isRoot ? "application" : (node.hook ? "hook · " : "") + node.kind;
    const health = (node.health || {}).status || "";
    const open = el("button", { type: "button", class: "node-open", title: (node.health || {}).message || null,
      "aria-label": node.isRoot ? "Application " + node.name : node.kind + " " + node.name + " (open)",
      onclick: () => options.onOpen(item) },
    el("span", { class: "node-kind" }, label),
    el("span", { class: "node-name" }, node.name),
    el("span", { class: "node-badges" }, node.sync ? badge(node.sync) : null, health ? badge(health) : null));
    const selectable = options.selectable(node);
    const box = el("div", {
      class: "node" + (node.isRoot ? " root" : "") + (node.hook ? " hook" : "") +
        (node.sync === "OutOfSync" ? " out-of-sync" : ""),
      "data-node": node.isRoot ? "app" : keyOf(node), "data-kind": node.kind, "data-name": node.name,
      "data-sync": node.sync || "", "data-health": health,
    },
    selectable ? el("input", { type: "checkbox", class: "node-select", checked: options.selected.has(keyOf(node)),
      "aria-label": "Select " + node.kind + " " + node.name + " for sync",
      onchange: (event) => options.onSelect(node, event.target.checked) }) : null,
    open,
    options.hasActions(node) ? el("button", { type: "button", class: "node-menu secondary",
      "aria-label": "Actions of " + node.kind + " " + node.name, "aria-haspopup": "menu",
      onclick: (event) => options.onActions(node, event.currentTarget) }, "⋮") : null);
    // Placed through the CSSOM: the page's CSP forbids inline style attributes.
    Object.assign(box.style, { left: item.x + "px", top: item.y + "px", width: NODE_W + "px", height: NODE_H + "px" });
    return box;
  }

  // Draw `tree` (the resource-tree answer) into `container`; returns how many nodes are shown.
  function render(container, appName, tree, filter, options) {
    const active = Boolean(filter.kind || filter.health || filter.sync);
    const root = filtered(build(appName, tree), filter, active);
    const { placed, rows } = layout(root);
    const width = Math.max(...placed.map((p) => p.x)) + NODE_W + 4;
    const height = rows * ROW;
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("aria-hidden", "true");
    for (const item of placed) for (const child of item.children) edge(svg, item, child);
    const canvas = el("div", { class: "graph-canvas" }, svg, placed.map((item) => nodeBox(item, options)));
    Object.assign(canvas.style, { width: width + "px", height: height + "px" });
    container.replaceChildren(canvas);
    return placed.length - 1;
  }

  function kinds(tree) {
    return [...new Set([...(tree.nodes || []), ...(tree.hooks || [])].map((n) => n.kind))].sort();
  }

  return { render, kinds, keyOf };
})();
