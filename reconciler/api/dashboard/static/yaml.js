// A small YAML writer for showing manifests (JSON from the API) the way kubectl prints them.
// Output only: the page never parses YAML. Strings that YAML would read as something else are
// quoted; multi-line strings become literal blocks.
"use strict";

const Yaml = (() => {
  const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_./@ :-]*$/;
  const SPECIAL = /^(true|false|yes|no|on|off|null|~|y|n|[-+]?[0-9][0-9_.eE:+-]*)$/i;

  function isComplex(value) {
    return value !== null && typeof value === "object" && Object.keys(value).length > 0;
  }

  function scalar(value) {
    if (value === null || value === undefined) return "null";
    if (Array.isArray(value)) return "[]";
    if (typeof value === "object") return "{}";
    if (typeof value !== "string") return String(value);
    if (value === "" || !PLAIN.test(value) || SPECIAL.test(value) || value.endsWith(":") || value.includes(": ")) {
      return JSON.stringify(value);
    }
    return value;
  }

  function block(pad, head, text, out) {
    out.push(pad + head + "|" + (text.endsWith("\n") ? "" : "-"));
    for (const line of text.replace(/\n$/, "").split("\n")) out.push(pad + "  " + line);
  }

  function emit(value, indent, out) {
    const pad = " ".repeat(indent);
    if (Array.isArray(value)) {
      for (const item of value) {
        if (isComplex(item)) {
          const sub = [];
          emit(item, indent + 2, sub);
          sub[0] = pad + "- " + sub[0].slice(indent + 2);
          out.push(...sub);
        } else {
          out.push(pad + "- " + scalar(item));
        }
      }
      return;
    }
    for (const [key, item] of Object.entries(value)) {
      const head = scalar(key) + ":";
      if (isComplex(item)) {
        out.push(pad + head);
        emit(item, Array.isArray(item) ? indent : indent + 2, out);
      } else if (typeof item === "string" && item.includes("\n")) {
        block(pad, head + " ", item, out);
      } else {
        out.push(pad + head + " " + scalar(item));
      }
    }
  }

  function dump(value) {
    if (!isComplex(value)) return scalar(value) + "\n";
    const out = [];
    emit(value, 0, out);
    return out.join("\n") + "\n";
  }

  return { dump };
})();
