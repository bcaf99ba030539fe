// The session page follows a live session: it polls /api/tail for the messages past the
// ones shown and appends them. The HTML it appends was built (and escaped) by the
// server's templates; this script never turns stored text into markup itself.
"use strict";

(function () {
  const POLL_MS = 1500;

  function linkResults(root) {
    // A result whose call was rendered in an earlier response gets its link here.
    const calls = new Map();
    for (const call of root.querySelectorAll("details.call[data-call-id]")) {
      if (!calls.has(call.dataset.callId)) calls.set(call.dataset.callId, call);
    }
    for (const result of root.querySelectorAll("div.result[data-result-for]")) {
      const call = calls.get(result.dataset.resultFor);
      if (!call) continue;
      const toCall = result.querySelector("a.to-call");
      if (toCall && !toCall.getAttribute("href")) {
        toCall.setAttribute("href", "#" + call.id);
        const tool = call.querySelector("code.tool");
        const label = toCall.querySelector("code.tool");
        if (tool && !label) {
          const code = document.createElement("code");
          code.className = "tool";
          code.textContent = tool.textContent;
          toCall.replaceChildren(document.createTextNode("of "), code);
        }
      }
      const toResult = call.querySelector("a.to-result");
      if (toResult && toResult.hidden) {
        toResult.hidden = false;
        toResult.setAttribute("href", "#" + result.id);
        if (result.dataset.error === "true") {
          call.classList.add("failed");
          toResult.textContent = "→ result (error)";
        }
      }
    }
  }

  function follow(section) {
    const list = document.getElementById("messages");
    const live = document.getElementById("live");
    let count = Number(section.dataset.count);
    let busy = false;

    async function poll() {
      if (busy) return;
      busy = true;
      try {
        const response = await fetch(section.dataset.tail + "&start=" + count, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) {
          live.textContent = response.status === 404 ? "deleted" : "offline";
          live.className = "live off";
          return;
        }
        const data = await response.json();
        live.textContent = "live";
        live.className = "live";
        if (data.reset) {
          document.getElementById("changed").hidden = false;
          return;
        }
        if (data.count > count && data.html) {
          // A <template> parses without running anything (and the CSP allows no inline script).
          const template = document.createElement("template");
          template.innerHTML = data.html;
          list.append(template.content);
          count = data.count;
          const empty = document.getElementById("no-messages");
          if (empty) empty.remove();
          linkResults(document);
        }
        document.getElementById("count").textContent = String(data.count);
        document.getElementById("updated").textContent = data.updated;
      } catch (error) {
        live.textContent = "offline";
        live.className = "live off";
      } finally {
        busy = false;
      }
    }

    setInterval(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const section = document.getElementById("session");
    if (!section) return;
    linkResults(document);
    follow(section);
  });
})();
