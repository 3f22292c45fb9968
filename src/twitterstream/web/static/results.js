// The live wall: keeps /results/<query> in step with /api/v1/stream (Server-Sent Events).
//
// What the reader is looking at never moves by itself: while the wall is paused, or the reader has
// scrolled into the list, arrivals wait behind the "n new posts" button. Posts are drawn by cards.js:
// post text and every other string from the server go into the page as text (textContent); the one
// exception is embed_html, which the server has sanitised with a strict allowlist.
(function () {
  "use strict";
  const wall = document.getElementById("wall");
  if (!wall) return;

  const time = window.TwitterStream.time;
  const cards = window.TwitterStream.cards;
  const readJson = cards.readJson;
  const ownStatus = window.TwitterStream.status.own; // the status line reads the query's own networks only
  const embedMode = wall.dataset.embeds === "original" ? "original" : "card";
  const list = document.getElementById("posts");
  const empty = document.getElementById("empty");
  const newPosts = document.getElementById("new-posts");
  const pauseButton = document.getElementById("pause");
  const limitButtons = Array.from(wall.querySelectorAll(".show button[data-limit]"));
  const statusLine = document.getElementById("live-status");
  const statusText = document.getElementById("live-text");
  const announcer = document.getElementById("announcer");
  const banner = document.getElementById("source-banner");
  const badge = document.getElementById("source-state");
  const paceCount = document.getElementById("pace-count");
  const sparkline = document.getElementById("sparkline");

  const LIMITS = [10, 25, 100];
  const SOURCE_NAMES = { x: "X", bluesky: "Bluesky", mastodon: "Mastodon", replay: "the replay file" };
  const LIVE_SOURCES = ["x", "bluesky", "mastodon"];
  const BADGE_WORDS = { stopped: "down" };
  const INGESTER_WORDS = { absent: "no ingester", silent: "no ingester", stopped: "ingester stopped" };
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
  const baseTitle = document.title;

  const state = {
    limit: LIMITS.includes(Number(wall.dataset.limit)) ? Number(wall.dataset.limit) : 10,
    paused: false,
    held: new Map(), // post id -> Post JSON: arrivals waiting behind the "new posts" button
    waiting: 0, // how many arrivals wait (the button's count; `held` keeps at most `limit` of them)
    unseen: 0, // arrivals while the tab was hidden (shown in the tab title)
    source: readJson(wall.dataset.status) || {},
    streamOpen: false,
    everOpened: false,
    lastEventId: "",
    pace: null, // {perMinute: [30 counts], lastMinute}
  };

  // -- rendering a post: cards.js draws it; the service's embed instead only when TWITTERSTREAM_EMBEDS=original
  function httpsUrl(url) {
    if (typeof url !== "string") return null;
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  function text(tag, className, content) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (content !== undefined) element.textContent = content;
    return element;
  }

  function render(post) {
    const article = cards.render(post, embedMode);
    if (post.pinned === true) article.dataset.pinned = "true"; // a wall's pinned post leads it
    return article;
  }

  /** The service's embed arrived for a post on the page: in its place, or behind "Show original". */
  function applyEmbed(article, html) {
    if (embedMode === "original") {
      if (!article.querySelector(".embed")) setEmbed(article, html);
    } else if (article.querySelector(".card")) {
      cards.setOriginal(article, html);
    }
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest(".show-original");
    const article = button && button.closest(".post");
    if (article && cards.showOriginal(article)) upgradeEmbeds(article);
  });

  // -- embeds: each service's script loads once, only when one of its posts is on the page -------
  const embedScripts = [
    {
      selector: "blockquote.twitter-tweet",
      src: "https://platform.twitter.com/widgets.js",
      prepare(element) {
        element.dataset.dnt = "true";
        if (darkScheme.matches) element.dataset.theme = "dark";
      },
      upgrade(root) {
        if (window.twttr && window.twttr.widgets) window.twttr.widgets.load(root);
      },
    },
    {
      selector: "blockquote.bluesky-embed",
      src: "https://embed.bsky.app/static/embed.js",
      prepare(element) {
        element.dataset.blueskyEmbedColorMode = "system";
      },
      upgrade(root) {
        if (window.bluesky && window.bluesky.scan) window.bluesky.scan(root);
      },
    },
  ];

  function upgradeEmbeds(root) {
    for (const kind of embedScripts) {
      const found = root.querySelectorAll(kind.selector);
      if (!found.length) continue;
      found.forEach((element) => kind.prepare(element));
      if (kind.loaded) {
        kind.upgrade(root);
      } else if (!kind.script) {
        // The service's script upgrades the whole page once it has loaded; later posts are upgraded one by one.
        kind.script = document.createElement("script");
        kind.script.src = kind.src;
        kind.script.async = true;
        kind.script.charset = "utf-8";
        kind.script.addEventListener("load", () => {
          kind.loaded = true;
          kind.upgrade(list);
        });
        document.head.append(kind.script); // if it fails (blocked, offline), the quoted text stays readable
      }
    }
    root.querySelectorAll(".embed iframe").forEach(sizeMastodonFrame);
  }

  // Mastodon's embed protocol: ask the frame for its height, it answers with a "setHeight" message.
  const mastodonFrames = new Map();
  function sizeMastodonFrame(frame) {
    const src = httpsUrl(frame.getAttribute("src"));
    if (!src || frame.dataset.sized) return;
    frame.dataset.sized = "1";
    const id = mastodonFrames.size + 1;
    mastodonFrames.set(id, { frame, origin: new URL(src).origin });
    frame.scrolling = "no";
    const ask = () => {
      if (frame.contentWindow) frame.contentWindow.postMessage({ type: "setHeight", id }, new URL(src).origin);
    };
    frame.addEventListener("load", ask); // asking earlier would reach the frame's about:blank, not Mastodon
  }
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!data || typeof data !== "object" || data.type !== "setHeight") return;
    const entry = mastodonFrames.get(data.id);
    if (!entry || event.origin !== entry.origin || event.source !== entry.frame.contentWindow) return;
    const height = Number(data.height);
    if (Number.isFinite(height) && height > 0 && height < 5000) entry.frame.height = String(Math.ceil(height));
  });

  // -- the list: newest first, at most `limit` posts ----------------------------------------------
  function findPost(id) {
    return list.querySelector('.post[data-id="' + CSS.escape(id) + '"]');
  }

  /** Put an article in its place by time (newest first; a tie goes above), pinned ones (walls) first. */
  function place(article) {
    const created = article.dataset.created;
    const pinned = article.dataset.pinned === "true";
    let before = null;
    for (const other of list.children) {
      if (pinned || other.dataset.pinned !== "true" && other.dataset.created <= created) {
        before = other;
        break;
      }
    }
    list.insertBefore(article, before);
  }

  function trim() {
    while (list.children.length > state.limit) list.lastElementChild.remove();
  }

  function olderThanShown(post) {
    const last = list.lastElementChild;
    return list.children.length >= state.limit && last && post.created_at < last.dataset.created;
  }

  function show(posts, animate) {
    const added = [];
    for (const post of posts) {
      if (findPost(post.id)) continue;
      const article = render(post);
      if (animate && !reducedMotion.matches) article.classList.add("arrived");
      place(article);
      added.push(article);
    }
    trim();
    const kept = added.filter((article) => article.isConnected);
    kept.forEach(upgradeEmbeds);
    kept.forEach(cards.checkPictures);
    empty.hidden = list.children.length > 0;
    return kept;
  }

  /** The reader sees the top of the list: a post put there now is seen, and moves nothing they read. */
  function atTop() {
    return list.getBoundingClientRect().top >= -1;
  }

  function arrive(post) {
    if (!post || typeof post.id !== "string" || typeof post.created_at !== "string") return;
    const shown = findPost(post.id);
    if (shown && typeof post.pinned === "boolean" && post.pinned !== (shown.dataset.pinned === "true")) {
      shown.remove(); // pinned or unpinned on a wall: it moves
      show([post], false);
      return;
    }
    if (shown) {
      if (post.embed_html) applyEmbed(shown, post.embed_html);
      return;
    }
    if (state.held.has(post.id)) {
      if (post.embed_html) state.held.get(post.id).embed_html = post.embed_html;
      return;
    }
    if (olderThanShown(post)) return; // it would land below the last kept post
    // Older than the top post: it fills in below (the stream's first batch, a late delivery), not news.
    const top = list.firstElementChild;
    const news = !top || post.created_at >= top.dataset.created;
    if (news) {
      bumpPace();
      if (document.hidden) {
        state.unseen += 1;
        updateTitle();
      }
    }
    if (state.paused || !atTop() || state.held.size) {
      hold(post);
    } else {
      show([post], news);
      if (news) announceArrivals(1, false);
    }
  }

  function hold(post) {
    state.held.set(post.id, post);
    if (state.held.size > state.limit) {
      let oldest = null;
      for (const held of state.held.values()) {
        if (!oldest || held.created_at < oldest.created_at) oldest = held;
      }
      state.held.delete(oldest.id);
    }
    state.waiting += 1;
    updateNewPosts();
    announceArrivals(1, true);
  }

  /** Show the held arrivals at the top. */
  function release(scroll) {
    if (!state.held.size) {
      state.waiting = 0;
      updateNewPosts();
      return;
    }
    const posts = Array.from(state.held.values());
    state.held.clear();
    state.waiting = 0;
    updateNewPosts();
    const added = show(posts, true);
    if (scroll) {
      window.scrollTo({ top: 0, behavior: reducedMotion.matches ? "auto" : "smooth" });
      const first = list.firstElementChild;
      if (first) {
        first.tabIndex = -1;
        first.focus({ preventScroll: true });
      }
    }
    return added;
  }

  function updateNewPosts() {
    const n = state.waiting;
    newPosts.hidden = n === 0;
    newPosts.querySelector(".count").textContent = n + (n === 1 ? " new post" : " new posts");
    newPosts.classList.toggle("paused", state.paused);
  }

  function setEmbed(article, html) {
    article.replaceChildren(cards.embedBox(html));
    upgradeEmbeds(article);
  }

  function remove(id) {
    if (state.held.delete(id)) {
      state.waiting = Math.max(state.waiting - 1, state.held.size);
      updateNewPosts();
    }
    const shown = findPost(id);
    if (shown) shown.remove();
    empty.hidden = list.children.length > 0;
  }

  newPosts.addEventListener("click", () => release(true));

  let scrollQueued = false;
  window.addEventListener(
    "scroll",
    () => {
      if (scrollQueued) return;
      scrollQueued = true;
      requestAnimationFrame(() => {
        scrollQueued = false;
        if (!state.paused && state.held.size && atTop()) release(false); // back at the top: catch up
      });
    },
    { passive: true }
  );

  // -- pause / resume --------------------------------------------------------------------------------
  function setPaused(paused) {
    state.paused = paused;
    pauseButton.dataset.state = paused ? "paused" : "live";
    pauseButton.querySelector(".label").textContent = paused ? "Resume" : "Pause";
    pauseButton.title = paused ? "Show new posts as they arrive" : "Hold new posts until you resume";
    wall.classList.toggle("is-paused", paused);
    if (!paused && atTop()) release(false);
    updateNewPosts();
    renderStatus();
    announce(paused ? "Paused. New posts wait until you resume." : "Resumed. New posts appear at the top.");
  }
  pauseButton.addEventListener("click", () => setPaused(!state.paused));

  // -- how many posts to keep ---------------------------------------------------------------------
  function markLimit() {
    for (const button of limitButtons) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.limit) === state.limit));
    }
  }

  async function setLimit(limit, remember) {
    if (!LIMITS.includes(limit)) return;
    const grew = limit > state.limit;
    state.limit = limit;
    markLimit();
    if (remember) {
      const url = new URL(window.location.href);
      if (limit === 10) url.searchParams.delete("limit");
      else url.searchParams.set("limit", String(limit));
      history.replaceState(history.state, "", url);
    }
    trim();
    while (state.held.size > limit) {
      const oldest = Array.from(state.held.values()).sort((a, b) => (a.created_at < b.created_at ? -1 : 1))[0];
      state.held.delete(oldest.id);
    }
    if (!grew) {
      empty.hidden = list.children.length > 0;
      return;
    }
    wall.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(wall.dataset.resultsUrl + "&limit=" + limit, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      const top = list.firstElementChild;
      const older = [];
      for (const post of body.posts || []) {
        if (!post || typeof post.id !== "string" || findPost(post.id) || state.held.has(post.id)) continue;
        if (!top || post.created_at < top.dataset.created) older.push(post);
        else arrive(post); // newer than what is shown: an arrival like any other
      }
      show(older, false); // older posts go below what the reader sees
    } catch (error) {
      announce("Could not load more posts (" + error.message + "). They will fill in as new ones arrive.");
    } finally {
      wall.removeAttribute("aria-busy");
    }
  }

  for (const button of limitButtons) {
    button.addEventListener("click", () => setLimit(Number(button.dataset.limit), true));
  }

  // -- pace: posts in the last minute and a sparkline of the last 30 minutes -------------------------
  const SVG = "http://www.w3.org/2000/svg";

  function drawPace() {
    const pace = state.pace;
    if (!pace) return;
    paceCount.textContent = pace.lastMinute + "/min";
    const counts = pace.perMinute;
    const peak = Math.max(1, ...counts);
    const bars = [];
    counts.forEach((count, index) => {
      const height = count ? Math.max(2, Math.round((count / peak) * 18)) : 1;
      const bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", String(index * 3));
      bar.setAttribute("y", String(20 - height));
      bar.setAttribute("width", "2");
      bar.setAttribute("height", String(height));
      bar.setAttribute("class", index === counts.length - 1 ? "now" : count ? "bar" : "zero");
      bars.push(bar);
    });
    sparkline.replaceChildren(...bars);
    sparkline.setAttribute(
      "aria-label",
      "Posts per minute over the last 30 minutes: at most " + Math.max(...counts) + ", " + pace.lastMinute + " in the last minute"
    );
  }

  function bumpPace() {
    if (!state.pace) return;
    state.pace.lastMinute += 1;
    state.pace.perMinute[state.pace.perMinute.length - 1] += 1;
    drawPace();
  }

  async function loadPace() {
    try {
      const response = await fetch(wall.dataset.paceUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      if (!Array.isArray(body.per_minute)) return;
      state.pace = { perMinute: body.per_minute.map(Number), lastMinute: Number(body.last_minute) || 0 };
      drawPace();
    } catch (error) {
      // the pace is a nicety: keep the last figures
    }
  }

  // -- status: live / reconnecting (why, and when) / source down ----------------------------------------
  let countdown = null;

  function describeStatus() {
    const s = ownStatus(state.source);
    const name = SOURCE_NAMES[s.source] || s.source || "the source";
    const reason = typeof s.reason === "string" ? s.reason : "";
    if (!state.streamOpen && state.everOpened) {
      return { kind: "offline", text: "Connection to TwitterStream lost; reconnecting…" };
    }
    // no ingester (or it stopped): the service is not to blame; the banner says what to start
    if (s.ingester === "absent" || s.ingester === "silent") return { kind: "down", text: "No ingester is running" };
    if (s.ingester === "stopped") return { kind: "down", text: "The ingester has stopped" };
    const several = severalSources(s);
    if (several) return several;
    switch (s.state) {
      case "connected":
      case "standby":
        if (!state.streamOpen) return { kind: "pending", text: "Connecting…" }; // live once our stream is open
        return { kind: "live", text: state.paused ? "Live · paused" : "Live" };
      case "starting":
      case "idle":
        return { kind: "pending", text: "Connecting to " + name + "…" };
      case "reconnecting": {
        let when = "";
        if (typeof s.retry_at === "number") {
          const seconds = Math.ceil(s.retry_at - Date.now() / 1000);
          when = seconds > 0 ? " in " + seconds + " s" : " now";
        }
        // " — ", not brackets: a reason may end in brackets of its own ("(is this machine online?)")
        return { kind: "reconnecting", text: "Reconnecting to " + name + when + (reason ? " — " + reason : "") };
      }
      case "paused": // X's monthly post cap: the reason says until when, in full
        return { kind: "paused", text: reason || name + " reading is paused" };
      case "stopped": // the banner above says why, in full
        return { kind: "down", text: name.charAt(0).toUpperCase() + name.slice(1) + " is down" };
      default:
        return { kind: "pending", text: (s.state || "unknown") + (reason ? ": " + reason : "") };
    }
  }

  // several of the query's networks: live while any one delivers, naming those that do not (badges say why)
  function severalSources(s) {
    const sources = s.sources && typeof s.sources === "object" ? Object.entries(s.sources) : [];
    if (sources.length < 2) return null;
    const working = sources.filter(([, one]) => one && ["connected", "standby"].includes(one.state));
    if (!working.length) return null; // none delivers: the first network's words say why
    if (!state.streamOpen) return { kind: "pending", text: "Connecting…" };
    const quiet = sources
      .filter(([, one]) => !one || !["connected", "standby", "idle"].includes(one.state))
      .map(([name, one]) => (SOURCE_NAMES[name] || name) + " " + (BADGE_WORDS[one && one.state] || (one && one.state) || "unknown"));
    const text = state.paused ? "Live · paused" : "Live";
    return { kind: "live", text: quiet.length ? text + " · " + quiet.join(", ") : text };
  }

  let lastKind = null;
  function renderStatus() {
    const status = describeStatus();
    statusLine.className = "live-status is-" + status.kind;
    if (statusText.textContent !== status.text) statusText.textContent = status.text;
    const s = ownStatus(state.source);
    statusLine.title = s.reason || "";
    if (status.kind !== lastKind) {
      const reason = status.kind === "down" && s.reason ? ": " + s.reason : "";
      if (lastKind !== null || status.kind === "down") announce(status.text + reason);
      lastKind = status.kind;
    }
    const ticking = s.state === "reconnecting" && typeof s.retry_at === "number";
    if (ticking && !countdown) countdown = setInterval(renderStatus, 1000);
    if (!ticking && countdown) {
      clearInterval(countdown);
      countdown = null;
    }
  }

  /** The source banner: why no posts arrive (down), a pause or a warning, in full; hidden otherwise. */
  function renderBanner(status) {
    if (!banner) return;
    const name = SOURCE_NAMES[status.source] || status.source || "The source";
    const kind = status.state === "stopped" ? "down" : status.state === "paused" ? "paused" : status.warning ? "warning" : "";
    banner.hidden = !kind;
    banner.className = "banner banner-source" + (kind ? " banner-" + kind : "");
    if (kind === "down") {
      const subject = status.source === "replay" ? "The replay file" : name.charAt(0).toUpperCase() + name.slice(1);
      const words = INGESTER_WORDS[status.ingester] ? "No posts are arriving." : subject + " is not delivering posts.";
      banner.replaceChildren(text("strong", "", words), status.reason ? " " + status.reason : "");
    } else if (kind === "paused") {
      banner.replaceChildren(text("strong", "", (status.reason || name + " reading is paused") + "."),
        " Posts already stored are still shown.");
    } else if (kind === "warning") {
      banner.replaceChildren(text("strong", "", name + ":"), " " + status.warning + ".");
    }
  }

  function setSource(status) {
    if (!status || typeof status !== "object") return;
    state.source = status;
    if (badge) {
      badge.className = "source-state state-" + String(status.state || "unknown").replace(/[^a-z]/g, "");
      badge.title = status.warning || status.reason || status.state || "";
      const word = badge.querySelector(".state-word");
      if (word) word.textContent = INGESTER_WORDS[status.ingester] || BADGE_WORDS[status.state] || status.state || "";
    }
    renderSourceBadges(status);
    renderBanner(ownStatus(status)); // on a query's page, the banner speaks of the query's own networks
    renderEmptyWhy(ownStatus(status));
    renderStatus();
  }

  // several sources: each network's badge in the header shows its own state (base.html draws them first)
  function renderSourceBadges(status) {
    const sources = status.sources;
    if (!sources || typeof sources !== "object") return;
    document.querySelectorAll("#source-states .source-state[data-source]").forEach((one) => {
      const own = sources[one.dataset.source];
      if (!own || typeof own !== "object") return;
      one.className = "source-state state-" + String(own.state || "unknown").replace(/[^a-z]/g, "");
      one.title = own.warning || own.reason || own.state || "";
      const word = one.querySelector(".state-word");
      if (word) word.textContent = INGESTER_WORDS[status.ingester] || BADGE_WORDS[own.state] || own.state || "";
    });
  }

  // -- the empty state says why nothing is there yet (the same words as results.html) --------------------
  const emptyWhy = document.getElementById("empty-why");
  function renderEmptyWhy(status) {
    if (!emptyWhy) return;
    const name = SOURCE_NAMES[status.source] || status.source || "the source";
    const parts = [];
    if (INGESTER_WORDS[status.ingester]) {
      parts.push("No posts can arrive while no ingester runs; matching posts appear here once one does.");
    } else if (["reconnecting", "stopped", "unknown"].includes(status.state) && LIVE_SOURCES.includes(status.source)) {
      parts.push(
        "TwitterStream cannot reach " + name + " right now (the status line above says why). " +
          "Matching posts appear here once it connects. No network? ",
        text("code", "", "make demo"),
        " shows the wall with bundled posts."
      );
    } else if (status.source === "x") {
      parts.push("X usually starts delivering within 20 seconds of a new rule; matching posts appear here as they are published.");
    } else if (status.source === "replay") {
      parts.push("The replay file is followed as it grows: matching lines appear here as they are read.");
    } else if (status.state === "connected") {
      parts.push("The recent posts from " + name + " had no match; new matches appear here the moment they are published.");
    } else {
      parts.push("Matching posts appear here the moment " + name + " publishes them.");
    }
    emptyWhy.replaceChildren(...parts);
  }

  // -- the stream ------------------------------------------------------------------------------------
  let stream = null;
  let reopenDelay = 2000;

  function streamUrl() {
    let url = wall.dataset.streamUrl + "&limit=" + state.limit;
    if (state.lastEventId) url += "&last_event_id=" + encodeURIComponent(state.lastEventId);
    return url;
  }

  function parseEvent(event) {
    const data = readJson(event.data);
    if (data === null) return null;
    return data;
  }

  function open() {
    stream = new EventSource(streamUrl());
    stream.addEventListener("open", () => {
      state.streamOpen = true;
      state.everOpened = true;
      reopenDelay = 2000;
      renderStatus();
    });
    stream.addEventListener("error", () => {
      state.streamOpen = false;
      renderStatus();
      if (stream.readyState === EventSource.CLOSED) {
        // The server answered with something other than a stream (a restart, an error page): the browser
        // gives up, so try again ourselves, resuming after the last post we saw.
        stream = null;
        setTimeout(open, reopenDelay);
        reopenDelay = Math.min(reopenDelay * 2, 30000);
      }
    });
    stream.addEventListener("post", (event) => {
      if (event.lastEventId) state.lastEventId = event.lastEventId;
      arrive(parseEvent(event));
    });
    stream.addEventListener("embed", (event) => {
      const data = parseEvent(event);
      if (!data || typeof data.id !== "string" || typeof data.embed_html !== "string") return;
      const held = state.held.get(data.id);
      if (held) held.embed_html = data.embed_html;
      const shown = findPost(data.id);
      if (shown) applyEmbed(shown, data.embed_html);
    });
    stream.addEventListener("delete", (event) => {
      const data = parseEvent(event);
      if (data && typeof data.id === "string") remove(data.id);
    });
    stream.addEventListener("status", (event) => setSource(parseEvent(event)));
  }

  // -- announcements (screen readers): counts, at most every few seconds, never every embed ---------
  let announceTimer = null;
  const pending = { shown: 0, held: 0 };

  function announce(message) {
    announcer.textContent = "";
    setTimeout(() => {
      announcer.textContent = message;
    }, 50);
  }

  function announceArrivals(count, held) {
    pending[held ? "held" : "shown"] += count;
    if (announceTimer) return;
    announceTimer = setTimeout(() => {
      announceTimer = null;
      const parts = [];
      if (pending.shown) parts.push(pending.shown + (pending.shown === 1 ? " new post" : " new posts") + " at the top");
      if (state.waiting) parts.push(state.waiting + (state.waiting === 1 ? " new post waits" : " new posts wait") + " above");
      pending.shown = 0;
      pending.held = 0;
      if (parts.length) announce(parts.join("; ") + ".");
    }, 3000);
  }

  function updateTitle() {
    document.title = state.unseen ? "(" + state.unseen + ") " + baseTitle : baseTitle;
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.unseen) {
      state.unseen = 0;
      updateTitle();
    }
  });

  // -- the empty state says since when ----------------------------------------------------------------
  function fillSince() {
    const since = document.getElementById("since");
    const since_time = document.getElementById("since-time");
    if (!since || !since_time) return;
    const seconds = Number(wall.dataset.since);
    const date = seconds > 0 ? new Date(seconds * 1000) : new Date();
    since_time.dateTime = date.toISOString();
    since_time.textContent = time.clockTime(date);
    since_time.title = time.exactTime(date);
    since.hidden = false;
  }

  // -- start ------------------------------------------------------------------------------------------
  fillSince();
  upgradeEmbeds(list);
  setSource(state.source);
  const asked = Number(new URL(window.location.href).searchParams.get("limit"));
  if (LIMITS.includes(asked) && asked !== state.limit) setLimit(asked, false);
  markLimit();
  open();
  loadPace();
  setInterval(loadPace, 60000);
})();
