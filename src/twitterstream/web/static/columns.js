// The columns page: several queries side by side, all fed by one live stream (/api/v1/stream?q=A&q=B).
//
// Each post event names in `queries` the keys of the columns it belongs to; it is drawn once per column by
// cards.js (every string from the server goes in as text). Each column pauses on its own: while paused, or
// while its reader has scrolled into it, arrivals wait behind its "n new" button. Columns are added (checked by
// /api/v1/results, which also starts watching the query) and removed in the page; the address keeps them
// (history.replaceState) and the stream is reopened with the resume token, so that the columns kept go on
// exactly where they were and a new one starts with its latest posts. No third-party script is ever loaded.
(function () {
  "use strict";
  const page = document.getElementById("columns-page");
  if (!page) return;

  const cards = window.TwitterStream.cards;
  const readJson = cards.readJson;
  const ownStatus = window.TwitterStream.status.own; // the status line reads the columns' own networks only
  const embedMode = page.dataset.embeds === "original" ? "original" : "card";
  const LIMITS = [10, 25, 100];
  const limit = LIMITS.includes(Number(page.dataset.limit)) ? Number(page.dataset.limit) : 10;
  const most = Number(page.dataset.most) || 6;
  const container = document.getElementById("columns");
  const none = document.getElementById("columns-none");
  const template = document.getElementById("column-template");
  const form = document.getElementById("add-column");
  const input = document.getElementById("add-query");
  const addButton = document.getElementById("add-button");
  const hint = document.getElementById("add-hint");
  const errorBox = document.getElementById("add-error");
  const statusLine = document.getElementById("live-status");
  const statusText = document.getElementById("live-text");
  const announcer = document.getElementById("announcer");
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const SOURCE_NAMES = { x: "X", bluesky: "Bluesky", mastodon: "Mastodon", replay: "the replay file" };
  const STORAGE_KEY = "twitterstream.columns"; // the last columns, for "Add to columns" on a results page

  const columns = new Map(); // query key -> column, in the page's order
  const FIRST_FILL_MS = 1000; // what a stream sends this soon after opening is its first posts, not news
  const state = {
    source: readJson(page.dataset.status) || {},
    streamOpen: false,
    everOpened: false,
    openedAt: 0,
    lastEventId: "",
  };
  let made = container.children.length;

  // -- a column --------------------------------------------------------------------------------------------
  function setup(section) {
    const column = {
      key: section.dataset.key,
      text: section.dataset.text,
      section,
      list: section.querySelector(".column-posts"),
      empty: section.querySelector(".column-empty"),
      pauseButton: section.querySelector('[data-action="pause"]'),
      newButton: section.querySelector('[data-action="release"]'),
      held: new Map(), // post id -> Post JSON waiting behind the "n new" button (at most `limit`)
      waiting: 0,
      paused: false,
    };
    column.list.addEventListener("scroll", () => {
      if (!column.paused && column.held.size && atTop(column)) release(column);
    }, { passive: true });
    columns.set(column.key, column);
    return column;
  }

  function findPost(column, id) {
    return column.list.querySelector('.post[data-id="' + CSS.escape(id) + '"]');
  }

  /** Newest first by time (a tie goes above). */
  function place(column, article) {
    const created = article.dataset.created;
    let before = null;
    for (const other of column.list.children) {
      if (other.dataset.created <= created) {
        before = other;
        break;
      }
    }
    column.list.insertBefore(article, before);
  }

  function show(column, posts, animate) {
    for (const post of posts) {
      if (findPost(column, post.id)) continue;
      const article = cards.render(post, embedMode);
      if (animate && !reducedMotion.matches) article.classList.add("arrived");
      place(column, article);
    }
    while (column.list.children.length > limit) column.list.lastElementChild.remove();
    cards.checkPictures(column.list);
    column.empty.hidden = column.list.children.length > 0;
  }

  function atTop(column) {
    return column.list.scrollTop <= 2;
  }

  function arrive(column, post) {
    const shown = findPost(column, post.id);
    if (shown) {
      if (post.embed_html) setEmbed(shown, post.embed_html);
      return;
    }
    if (column.held.has(post.id)) return;
    const last = column.list.lastElementChild;
    if (column.list.children.length >= limit && last && post.created_at < last.dataset.created) return;
    const top = column.list.firstElementChild;
    // news: newer than what the column shows, and not the first posts a (re)opened stream sends
    const news = (!top || post.created_at >= top.dataset.created) && Date.now() - state.openedAt > FIRST_FILL_MS;
    if (news) noteArrival(column);
    if (column.paused || column.held.size || !atTop(column)) {
      hold(column, post);
    } else {
      show(column, [post], news);
    }
  }

  function hold(column, post) {
    column.held.set(post.id, post);
    if (column.held.size > limit) {
      let oldest = null;
      for (const held of column.held.values()) if (!oldest || held.created_at < oldest.created_at) oldest = held;
      column.held.delete(oldest.id);
    }
    column.waiting += 1;
    updateWaiting(column);
  }

  function release(column) {
    const posts = Array.from(column.held.values());
    column.held.clear();
    column.waiting = 0;
    updateWaiting(column);
    show(column, posts, true);
    column.list.scrollTop = 0;
  }

  function updateWaiting(column) {
    const n = column.waiting;
    column.newButton.hidden = n === 0;
    column.newButton.querySelector(".count").textContent = n + " new";
    column.newButton.setAttribute("aria-label", "Show " + n + (n === 1 ? " new post" : " new posts") + " in " + column.key);
  }

  function setPaused(column, paused) {
    column.paused = paused;
    const word = paused ? "Resume" : "Pause";
    column.pauseButton.dataset.state = paused ? "paused" : "live";
    column.pauseButton.querySelector(".label").textContent = word;
    column.pauseButton.setAttribute("aria-label", word + " " + column.key);
    column.section.classList.toggle("is-paused", paused);
    if (!paused && column.held.size) release(column);
    renderStatus();
    announce(paused ? column.key + " paused: new posts wait until you resume." : column.key + " resumed.");
  }

  function setEmbed(article, html) {
    if (embedMode === "original") {
      if (!article.querySelector(".embed")) article.replaceChildren(cards.embedBox(html));
    } else {
      cards.setOriginal(article, html);
    }
  }

  function removePost(id) {
    for (const column of columns.values()) {
      if (column.held.delete(id)) {
        column.waiting = Math.max(column.waiting - 1, column.held.size);
        updateWaiting(column);
      }
      const shown = findPost(column, id);
      if (shown) shown.remove();
      column.empty.hidden = column.list.children.length > 0;
    }
  }

  container.addEventListener("click", (event) => {
    const original = event.target.closest(".show-original");
    if (original) {
      const article = original.closest(".post");
      if (article) cards.showOriginal(article); // the sanitised quote, as text: no service script is loaded
      return;
    }
    const button = event.target.closest("button[data-action]");
    const section = button && button.closest(".column");
    const column = section && columns.get(section.dataset.key);
    if (!column) return;
    if (button.dataset.action === "pause") setPaused(column, !column.paused);
    else if (button.dataset.action === "release") release(column);
    else if (button.dataset.action === "remove") removeColumn(column);
  });

  // -- adding and removing columns, kept in the address ---------------------------------------------------------
  function makeColumn(text, key) {
    made += 1;
    const section = template.content.firstElementChild.cloneNode(true);
    const id = "column-" + made;
    section.id = id;
    section.dataset.key = key;
    section.dataset.text = text;
    section.setAttribute("aria-labelledby", id + "-title");
    const title = section.querySelector(".column-title");
    title.id = id + "-title";
    const link = title.querySelector("a");
    link.textContent = key;
    link.href = "/results/" + encodeURIComponent(text);
    section.querySelector('[data-action="pause"]').setAttribute("aria-label", "Pause " + key);
    section.querySelector('[data-action="remove"]').setAttribute("aria-label", "Remove " + key);
    section.querySelector(".column-posts").setAttribute("aria-label", "Posts matching " + key + ", newest first");
    section.querySelector(".column-empty strong").textContent = key;
    container.append(section);
    return setup(section);
  }

  function removeColumn(column) {
    const sections = Array.from(container.children);
    const next = sections[sections.indexOf(column.section) + 1] || sections[sections.indexOf(column.section) - 1];
    column.section.remove();
    columns.delete(column.key);
    columnsChanged();
    announce("Column " + column.key + " removed.");
    const focus = next ? next.querySelector('[data-action="remove"]') : input;
    focus.focus();
  }

  function columnsChanged() {
    const params = new URLSearchParams();
    for (const column of columns.values()) params.append("q", column.text);
    if (limit !== 10) params.set("limit", String(limit));
    const query = params.toString();
    history.replaceState(history.state, "", page.dataset.pageUrl + (query ? "?" + query : ""));
    const keys = Array.from(columns.keys());
    document.title = (keys.length ? keys.join(" · ") + " · " : "") + "Columns · TwitterStream";
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(Array.from(columns.values(), (c) => c.text)));
    } catch (error) {
      // storage refused (private mode): "Add to columns" then opens the one query
    }
    none.hidden = columns.size > 0;
    const full = columns.size >= most;
    input.disabled = full;
    addButton.disabled = full;
    hint.textContent = full
      ? most + " columns at most: remove one to add another."
      : "Up to " + most + " columns, each a query as on the front page.";
    open();
  }

  function showError(message, position, text) {
    const line = document.createElement("p");
    line.className = "error-message";
    const icon = document.createElement("span");
    icon.className = "error-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "!";
    line.append(icon, " " + message);
    const parts = [line];
    if (typeof position === "number" && position > 0 && text) {
      const where = document.createElement("span");
      where.className = "error-position";
      where.textContent = " (at position " + position + ")";
      line.append(where);
      const marked = document.createElement("p");
      marked.className = "marked";
      marked.setAttribute("aria-hidden", "true");
      const code = document.createElement("code");
      const mark = document.createElement("mark");
      mark.textContent = text.slice(position - 1, position) || " ";
      code.append(text.slice(0, position - 1), mark, text.slice(position));
      marked.append(code);
      parts.push(marked);
      const start = input.value.indexOf(text) + position - 1; // the field may have spaces around the query
      input.focus();
      input.setSelectionRange(start, start + 1);
    }
    errorBox.replaceChildren(...parts);
    errorBox.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-errormessage", "add-error");
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.replaceChildren();
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-errormessage");
  }

  input.addEventListener("input", () => {
    if (input.getAttribute("aria-invalid")) clearError();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      showError('Type something to watch: a word, a #hashtag, an @name or an "exact phrase".');
      return;
    }
    if (columns.size >= most) return;
    form.setAttribute("aria-busy", "true");
    addButton.disabled = true;
    try {
      const url = page.dataset.checkUrl + "?" + new URLSearchParams({ q: text, limit: "1" });
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const error = (body && body.error) || {};
        showError(error.message || "TwitterStream answered " + response.status + ".", error.position, text);
        return;
      }
      const key = body && typeof body.query === "string" ? body.query : text;
      if (columns.has(key)) {
        showError("Already a column: " + key + ".");
        return;
      }
      clearError();
      input.value = "";
      makeColumn(text, key);
      columnsChanged();
      announce("Column " + key + " added.");
    } catch (error) {
      showError("Could not reach TwitterStream (" + error.message + "). Check the connection and try again.");
    } finally {
      form.removeAttribute("aria-busy");
      addButton.disabled = columns.size >= most;
    }
  });

  // -- the one live stream ---------------------------------------------------------------------------------------
  let stream = null;
  let reopenDelay = 2000;
  let reopenTimer = null;

  function streamUrl() {
    const params = new URLSearchParams();
    for (const column of columns.values()) params.append("q", column.text);
    params.set("limit", String(limit));
    if (state.lastEventId) params.set("last_event_id", state.lastEventId); // the columns kept resume there
    return page.dataset.streamUrl + "?" + params;
  }

  function open() {
    if (stream) stream.close();
    stream = null;
    clearTimeout(reopenTimer);
    state.streamOpen = false;
    if (!columns.size) {
      renderStatus();
      return;
    }
    const current = new EventSource(streamUrl());
    stream = current;
    current.addEventListener("open", () => {
      state.openedAt = Date.now();
      state.streamOpen = true;
      state.everOpened = true;
      reopenDelay = 2000;
      renderStatus();
    });
    current.addEventListener("error", () => {
      if (stream !== current) return;
      state.streamOpen = false;
      renderStatus();
      if (current.readyState === EventSource.CLOSED) {
        // an answer that is not a stream (a restart, an error): the browser gives up, so try again ourselves
        stream = null;
        reopenTimer = setTimeout(open, reopenDelay);
        reopenDelay = Math.min(reopenDelay * 2, 30000);
      }
    });
    current.addEventListener("post", (event) => {
      if (event.lastEventId) state.lastEventId = event.lastEventId;
      const post = readJson(event.data);
      if (!post || typeof post.id !== "string" || typeof post.created_at !== "string") return;
      for (const key of Array.isArray(post.queries) ? post.queries : []) {
        const column = columns.get(key);
        if (column) arrive(column, post);
      }
    });
    current.addEventListener("embed", (event) => {
      const data = readJson(event.data);
      if (!data || typeof data.id !== "string" || typeof data.embed_html !== "string") return;
      for (const column of columns.values()) {
        const held = column.held.get(data.id);
        if (held) held.embed_html = data.embed_html;
        const shown = findPost(column, data.id);
        if (shown) setEmbed(shown, data.embed_html);
      }
    });
    current.addEventListener("delete", (event) => {
      const data = readJson(event.data);
      if (data && typeof data.id === "string") removePost(data.id);
    });
    current.addEventListener("status", (event) => {
      const status = readJson(event.data);
      if (status && typeof status === "object") state.source = status;
      renderStatus();
    });
    renderStatus();
  }

  function describeStatus() {
    if (!columns.size) return { kind: "pending", text: "No columns yet" };
    if (!state.streamOpen) {
      return state.everOpened ? { kind: "offline", text: "Connection lost; reconnecting…" } : { kind: "pending", text: "Connecting…" };
    }
    const s = ownStatus(state.source);
    const name = SOURCE_NAMES[s.source] || s.source || "the source";
    const reason = typeof s.reason === "string" && s.reason ? " — " + s.reason : "";
    if (s.ingester === "absent" || s.ingester === "silent") return { kind: "down", text: "No ingester is running" };
    if (s.ingester === "stopped") return { kind: "down", text: "The ingester has stopped" };
    const sources = s.sources && typeof s.sources === "object" ? Object.values(s.sources) : [];
    const working = sources.some((one) => one && ["connected", "standby"].includes(one.state));
    if (working || ["connected", "standby"].includes(s.state)) {
      const paused = Array.from(columns.values()).filter((c) => c.paused).length;
      return { kind: "live", text: paused ? "Live · " + paused + (paused === 1 ? " column paused" : " columns paused") : "Live" };
    }
    if (s.state === "reconnecting") return { kind: "reconnecting", text: "Reconnecting to " + name + reason };
    if (s.state === "paused") return { kind: "paused", text: s.reason || name + " reading is paused" };
    if (s.state === "stopped") return { kind: "down", text: name.charAt(0).toUpperCase() + name.slice(1) + " is down" + reason };
    return { kind: "pending", text: "Connecting to " + name + "…" };
  }

  function renderStatus() {
    const status = describeStatus();
    statusLine.className = "live-status is-" + status.kind;
    if (statusText.textContent !== status.text) statusText.textContent = status.text;
  }

  // -- announcements: structure at once, arrivals as counts every few seconds -------------------------------------
  const arrivals = new Map(); // column key -> arrivals not announced yet
  let arrivalsTimer = null;

  function announce(message) {
    announcer.textContent = "";
    setTimeout(() => {
      announcer.textContent = message;
    }, 50);
  }

  function noteArrival(column) {
    arrivals.set(column.key, (arrivals.get(column.key) || 0) + 1);
    if (arrivalsTimer) return;
    arrivalsTimer = setTimeout(() => {
      arrivalsTimer = null;
      const parts = Array.from(arrivals, ([key, n]) => n + (n === 1 ? " new post" : " new posts") + " in " + key);
      arrivals.clear();
      if (parts.length) announce(parts.join(", ") + ".");
    }, 5000);
  }

  // -- start -----------------------------------------------------------------------------------------------------
  container.querySelectorAll(".column").forEach(setup);
  columnsChanged(); // the address names the columns shown (a refused q leaves it), and the stream opens
})();
