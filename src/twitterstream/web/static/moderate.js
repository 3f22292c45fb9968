// A wall's moderation page (/admin/walls/<slug>): the approval queue, keyboard first, beside the live wall.
// The queue is a multi-select listbox: the current post is its aria-activedescendant, the selection its
// aria-selected options. Decisions go to the operator API with the page's CSRF token; every outcome is
// announced in a polite live region. The queue is re-read every 3 seconds (there is no queue stream);
// the wall column follows the wall's own SSE stream.
(function () {
  "use strict";

  const root = document.getElementById("moderate");
  if (!root) return;
  const queue = document.getElementById("queue");
  const empty = document.getElementById("queue-empty");
  const waitingCount = document.getElementById("waiting-count");
  const selectedCount = document.getElementById("selected-count");
  const approveSelected = document.getElementById("approve-selected");
  const announcer = document.getElementById("announce");
  const wallList = document.getElementById("wall-posts");
  const wallState = document.getElementById("wall-state");
  const slug = root.dataset.slug;
  const api = root.dataset.apiUrl;
  const csrf = root.dataset.csrf;
  const POLL_MS = 3000;
  const PAST = { approve: "Approved", reject: "Rejected", pin: "Pinned", hide: "Hid" };
  let nextId = 0;
  let busy = false;
  let decisions = 0; // a queue read that started before the latest decision is stale: it is dropped

  // -- the queue -----------------------------------------------------------------------------------
  function options() {
    return Array.from(queue.querySelectorAll('[role="option"]'));
  }

  function keyOf(option) {
    return option.dataset.source + ":" + option.dataset.id;
  }

  function current() {
    const id = queue.getAttribute("aria-activedescendant");
    return id ? document.getElementById(id) : null;
  }

  function setCurrent(option) {
    for (const other of options()) other.classList.toggle("current", other === option);
    if (option) {
      queue.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      queue.removeAttribute("aria-activedescendant");
    }
  }

  function selected() {
    return options().filter((o) => o.getAttribute("aria-selected") === "true");
  }

  function updateCounts() {
    const all = options();
    waitingCount.textContent = String(all.length);
    const chosen = selected().length;
    selectedCount.textContent = String(chosen);
    approveSelected.disabled = chosen === 0;
    empty.hidden = all.length > 0;
    document.title = (all.length ? "(" + all.length + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  }

  function announce(message) {
    // cleared first so that the same words said twice are read twice
    announcer.textContent = "";
    window.setTimeout(() => {
      announcer.textContent = message;
    }, 50);
  }

  function who(post) {
    const author = post.author || {};
    if (author.username) return "@" + author.username;
    return String(author.name || author.id || "?");
  }

  function makeOption(post) {
    const option = document.createElement("li");
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", "false");
    option.id = "queued-new-" + ++nextId;
    option.dataset.source = post.source;
    option.dataset.id = post.id;
    option.dataset.who = who(post);
    const name = document.createElement("span");
    name.className = "queued-who";
    name.textContent = who(post);
    const body = document.createElement("span");
    body.className = "queued-text";
    body.textContent = String(post.text || "");
    option.append(name, " ", body);
    return option;
  }

  function removeOptions(gone) {
    if (!gone.length) return;
    const all = options();
    const now = current();
    let successor = null;
    if (now && gone.includes(now)) {
      const after = all.slice(all.indexOf(now) + 1).find((o) => !gone.includes(o));
      const before = all.slice(0, all.indexOf(now)).reverse().find((o) => !gone.includes(o));
      successor = after || before || null;
    }
    for (const option of gone) option.remove();
    if (now && gone.includes(now)) setCurrent(successor);
    updateCounts();
  }

  async function refresh() {
    if (busy) return;
    const asOf = decisions;
    let answer;
    try {
      const response = await fetch(root.dataset.queueUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      answer = await response.json();
    } catch (error) {
      return; // the next poll tries again
    }
    if (busy || asOf !== decisions) return;
    const waiting = new Set(answer.posts.map((p) => p.source + ":" + p.id));
    removeOptions(options().filter((o) => !waiting.has(keyOf(o))));
    const shown = new Set(options().map(keyOf));
    const added = answer.posts.filter((p) => !shown.has(p.source + ":" + p.id));
    for (const post of added) queue.append(makeOption(post));
    if (added.length) {
      if (!current()) setCurrent(options()[0]);
      announce(added.length === 1 ? "1 new post waiting" : added.length + " new posts waiting");
    }
    updateCounts();
  }

  function postUrl(option, decision) {
    const id = option.dataset.id.split("/").map(encodeURIComponent).join("/");
    const post = encodeURIComponent(option.dataset.source) + "/" + id;
    if (decision === "hide") return api + "/posts/" + post + "/hide";
    return api + "/walls/" + encodeURIComponent(slug) + "/posts/" + post + "/" + decision;
  }

  async function send(option, decision) {
    const response = await fetch(postUrl(option, decision), {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    if (response.ok) return null;
    try {
      const body = await response.json();
      return (body.error && body.error.message) || "error " + response.status;
    } catch (error) {
      return "error " + response.status;
    }
  }

  async function decide(decision, chosen) {
    if (busy || !chosen.length) return;
    busy = true;
    try {
      const done = [];
      let problem = null;
      for (const option of chosen) {
        let outcome;
        try {
          outcome = await send(option, decision);
        } catch (error) {
          outcome = "the server cannot be reached";
        }
        if (outcome) {
          problem = outcome;
          break;
        }
        done.push(option);
      }
      const names = done.map((o) => o.dataset.who);
      removeOptions(done);
      if (done.length === 1) announce(PAST[decision] + " post by " + names[0]);
      else if (done.length > 1) announce(PAST[decision] + " " + done.length + " posts");
      if (problem) announce("Could not " + decision + " a post: " + problem);
    } finally {
      decisions += 1;
      busy = false;
    }
  }

  function move(step) {
    const all = options();
    if (!all.length) return;
    const now = current();
    const at = now ? all.indexOf(now) : -1;
    setCurrent(all[Math.min(Math.max(at + step, 0), all.length - 1)]);
  }

  function toggle(option) {
    const on = option.getAttribute("aria-selected") !== "true";
    option.setAttribute("aria-selected", String(on));
    updateCounts();
    announce((on ? "Selected" : "Unselected") + ", " + selected().length + " selected");
  }

  queue.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const now = current();
    const key = event.key;
    let handled = true;
    if (key === "j" || key === "ArrowDown") move(1);
    else if (key === "k" || key === "ArrowUp") move(-1);
    else if (key === "Home") setCurrent(options()[0] || null);
    else if (key === "End") setCurrent(options().slice(-1)[0] || null);
    else if (key === "A") decide("approve", selected());
    else if (key === "a" && now) decide("approve", [now]);
    else if (key === "r" && now) decide("reject", [now]);
    else if (key === "p" && now) decide("pin", [now]);
    else if (key === "h" && now) decide("hide", [now]);
    else if ((key === "x" || key === " ") && now) toggle(now);
    else handled = false;
    if (handled) event.preventDefault();
  });

  queue.addEventListener("focus", () => {
    if (!current() && options().length) setCurrent(options()[0]);
  });

  queue.addEventListener("click", (event) => {
    const option = event.target instanceof Element ? event.target.closest('[role="option"]') : null;
    if (option) setCurrent(option);
  });

  for (const button of root.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      const now = current();
      if (now) decide(button.dataset.action, [now]);
      else announce("No post is chosen in the queue");
    });
  }
  approveSelected.addEventListener("click", () => decide("approve", selected()));

  // -- the wall, live --------------------------------------------------------------------------------
  const onWall = new Map();

  function drawWall() {
    const posts = Array.from(onWall.values());
    posts.sort((a, b) => (b.pinned === true) - (a.pinned === true) || String(b.created_at).localeCompare(a.created_at));
    const items = posts.slice(0, 25).map((post) => {
      const item = document.createElement("li");
      item.className = "wall-post";
      item.dataset.id = post.id;
      if (post.pinned === true) {
        item.dataset.pinned = "true";
        const mark = document.createElement("strong");
        mark.className = "pin-mark";
        mark.textContent = "Pinned ";
        item.append(mark);
      }
      const name = document.createElement("span");
      name.className = "queued-who";
      name.textContent = who(post);
      const body = document.createElement("span");
      body.className = "queued-text";
      body.textContent = String(post.text || "");
      item.append(name, " ", body);
      return item;
    });
    wallList.replaceChildren(...items);
    wallState.textContent = items.length ? "Live" : "Live: nothing on the wall yet";
  }

  function readEvent(event) {
    try {
      return JSON.parse(event.data);
    } catch (error) {
      return null;
    }
  }

  const stream = new EventSource(root.dataset.streamUrl);
  stream.addEventListener("open", () => {
    wallState.textContent = onWall.size ? "Live" : "Live: nothing on the wall yet";
  });
  stream.addEventListener("error", () => {
    wallState.textContent = "Reconnecting…";
  });
  stream.addEventListener("post", (event) => {
    const post = readEvent(event);
    if (!post || typeof post.id !== "string") return;
    onWall.set(post.id, post);
    drawWall();
  });
  stream.addEventListener("delete", (event) => {
    const gone = readEvent(event);
    if (gone && onWall.delete(String(gone.id))) drawWall();
  });

  if (options().length) setCurrent(options()[0]);
  updateCounts();
  window.setInterval(refresh, POLL_MS);
})();
