// The screen view (?view=screen): a search or a wall on a big screen, left running for days.
//
// Posts come from the live stream and are drawn by cards.js, as on the normal page (never the service's embed:
// no third-party script on a screen). They fill the screen as a masonry: the grid's rows are a few pixels tall
// and each card spans as many as it needs; a post with pictures spans two columns. The bottom edge fades out
// the cards it cuts; a card wholly below it is hidden (and out of the keyboard's way). New posts come in at the top and the others glide
// to their new places (FLIP, with the Web Animations API: no inline style the CSP would refuse); the system's
// reduced-motion setting turns every movement off.
//
// Bounded for days: at most `limit` cards in the page (the oldest leave as new ones come), at most `limit`
// arrivals waiting for the next batch, a pace counter of 60 one-second buckets, a fixed set of listeners and
// timers made once. Nothing here grows with the number of posts seen.
(function () {
  "use strict";
  const screen = document.getElementById("screen");
  if (!screen) return;

  const cards = window.TwitterStream.cards;
  const readJson = cards.readJson;
  const ownStatus = window.TwitterStream.status.own; // the status line reads the query's own networks only
  const list = document.getElementById("posts");
  const empty = document.getElementById("empty");
  const announcer = document.getElementById("announcer");
  const liveLine = document.getElementById("screen-live");
  const liveText = document.getElementById("screen-live-text");
  const paceBox = document.getElementById("screen-pace");
  const paceCount = document.getElementById("screen-pace-count");

  const LIMIT = Math.max(1, Math.min(100, Number(screen.dataset.limit) || 40));
  const BATCH_MS = 900; // arrivals show together at most this often: one layout and one movement per batch
  const MOVE_MS = 700;
  const EASE = "cubic-bezier(.2, .7, .2, 1)";
  const SHORT_TEXT = 90; // characters: a text-only post this short is set larger
  const ANNOUNCE_MS = 10000; // a screen reader hears the count of new posts at most this often
  const PACE_REFRESH_MS = 20000;
  const SOURCE_NAMES = { x: "X", bluesky: "Bluesky", mastodon: "Mastodon", replay: "the replay file" };
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  // -- cards ----------------------------------------------------------------------------------------------
  /** What the screen changes on a card, drawn here or by the server: no "Show original", short text larger. */
  function prepare(article) {
    for (const button of article.querySelectorAll(".show-original")) {
      const before = button.previousSibling;
      if (before && before.nodeType === Node.TEXT_NODE && before.textContent.trim() === "·") before.remove();
      button.remove();
    }
    for (const template of article.querySelectorAll("template.original")) template.remove();
    const text = article.querySelector(".text");
    const short = !article.querySelector(".media, .warning") && text && text.textContent.length <= SHORT_TEXT;
    article.classList.toggle("is-short", Boolean(short));
    return article;
  }

  function render(post) {
    const article = cards.render(Object.assign({}, post, { embed_html: null }), "card");
    if (post.pinned === true) article.dataset.pinned = "true"; // a wall's pinned post leads it
    return prepare(article);
  }

  function findPost(id) {
    return list.querySelector('.post[data-id="' + CSS.escape(id) + '"]');
  }

  /** Newest first (a tie goes above), pinned posts (walls) before all. */
  function place(article) {
    const created = article.dataset.created;
    const pinned = article.dataset.pinned === "true";
    let before = null;
    for (const other of list.children) {
      if (pinned || (other.dataset.pinned !== "true" && other.dataset.created <= created)) {
        before = other;
        break;
      }
    }
    list.insertBefore(article, before);
  }

  // -- layout: the masonry, and which cards fit whole ------------------------------------------------------------
  function layout() {
    const style = getComputedStyle(list);
    const row = parseFloat(style.gridAutoRows) || 4;
    const gap = parseFloat(style.columnGap) || 0;
    const columns = style.gridTemplateColumns.split(" ").filter(Boolean).length;
    const articles = Array.from(list.children);
    for (const article of articles) {
      article.classList.toggle("is-wide", columns >= 3 && article.querySelector(".media") !== null);
    }
    // every read, then every write: one forced layout per pass however many cards
    const heights = articles.map((article) => article.offsetHeight);
    articles.forEach((article, index) => {
      article.style.gridRowEnd = "span " + Math.max(1, Math.ceil((heights[index] + gap) / row)); // CSSOM: CSP-safe
    });
    const bottom = list.clientHeight;
    const clipped = articles.map((article) => article.offsetTop >= bottom);
    articles.forEach((article, index) => article.classList.toggle("is-clipped", clipped[index]));
    empty.hidden = articles.length > 0;
  }

  let layoutQueued = false;
  function layoutSoon() {
    if (layoutQueued) return;
    layoutQueued = true;
    requestAnimationFrame(() => {
      layoutQueued = false;
      layout();
    });
  }

  // -- movement: FLIP (first, last, invert, play) ---------------------------------------------------------------
  function animating() {
    const able = typeof Element.prototype.animate === "function" && typeof Element.prototype.getAnimations === "function";
    return able && !reducedMotion.matches;
  }

  /** Where each shown card is now (mid-movement included), before the page changes; stops their movements. */
  function firstPlaces() {
    const places = new Map();
    if (!animating()) return places;
    for (const article of list.children) {
      if (article.classList.contains("is-clipped")) continue;
      places.set(article, article.getBoundingClientRect());
      for (const movement of article.getAnimations()) movement.cancel();
    }
    return places;
  }

  function play(places, added) {
    if (!animating()) return;
    for (const article of list.children) {
      const clipped = article.classList.contains("is-clipped");
      if (added.has(article)) {
        if (!clipped) {
          article.animate([{ opacity: 0, transform: "scale(.9)" }, { opacity: 1, transform: "none" }], {
            duration: MOVE_MS,
            easing: EASE,
          });
        }
        continue;
      }
      const was = places.get(article);
      if (!was) continue;
      const now = article.getBoundingClientRect();
      const from = "translate(" + (was.left - now.left) + "px, " + (was.top - now.top) + "px)";
      if (clipped) {
        // leaving the screen: it fades where it was (its new place is out of sight)
        article.animate(
          [
            { visibility: "visible", opacity: 1, transform: from },
            { visibility: "visible", opacity: 0, transform: from },
          ],
          { duration: MOVE_MS / 2, easing: "ease-out" }
        );
      } else if (was.left !== now.left || was.top !== now.top) {
        article.animate([{ transform: from }, { transform: "none" }], { duration: MOVE_MS, easing: EASE });
      }
    }
  }

  // -- arrivals: a bounded batch, shown at most every BATCH_MS ----------------------------------------------------
  const waiting = new Map(); // post id -> Post JSON
  let batchTimer = null;
  let lastBatch = 0;

  function full() {
    return list.children.length >= LIMIT;
  }

  function arrive(post) {
    if (!post || typeof post.id !== "string" || typeof post.created_at !== "string") return;
    const shown = findPost(post.id);
    if (shown) {
      // a wall's post pinned or unpinned: it moves; anything else about a shown post changes nothing here
      if (typeof post.pinned === "boolean" && post.pinned !== (shown.dataset.pinned === "true")) wait(post);
      return;
    }
    const last = list.lastElementChild;
    if (full() && post.pinned !== true && last && post.created_at < last.dataset.created) return; // would leave at once
    const top = list.querySelector('.post:not([data-pinned="true"])');
    if (!waiting.has(post.id) && (!top || post.created_at >= top.dataset.created)) {
      pace.bump(); // news, not the stream's first batch or a late delivery
      newPosts += 1;
    }
    wait(post);
  }

  function wait(post) {
    waiting.set(post.id, post);
    if (waiting.size > LIMIT) {
      let oldest = null;
      for (const one of waiting.values()) if (!oldest || one.created_at < oldest.created_at) oldest = one;
      waiting.delete(oldest.id);
    }
    if (batchTimer === null) batchTimer = setTimeout(showWaiting, Math.max(0, lastBatch + BATCH_MS - Date.now()));
  }

  function showWaiting() {
    batchTimer = null;
    lastBatch = Date.now();
    if (!waiting.size) return;
    const posts = Array.from(waiting.values());
    waiting.clear();
    const places = firstPlaces();
    const added = new Set();
    for (const post of posts) {
      const old = findPost(post.id);
      if (old) old.remove();
      const article = render(post);
      place(article);
      added.add(article);
    }
    while (list.children.length > LIMIT) list.lastElementChild.remove(); // the oldest leave
    layout();
    play(places, added);
    announceSoon();
  }

  function remove(id) {
    waiting.delete(id);
    const shown = findPost(id);
    if (!shown) return;
    const places = firstPlaces();
    shown.remove();
    layout();
    play(places, new Set());
  }

  // -- the pace: posts per minute ---------------------------------------------------------------------------------
  // A search reads it from /api/v1/pace (every arrival of the query, exact), adding what arrives in between; a
  // wall counts what it showed in the last 60 seconds (its audience sees only what the operator let through).
  const pace = (function () {
    const url = paceBox.dataset.paceUrl || "";
    const buckets = new Array(60).fill(0);
    let second = Math.floor(Date.now() / 1000);
    let fromServer = null; // the last minute's count as the server last said it, plus arrivals since

    function advance() {
      const now = Math.floor(Date.now() / 1000);
      for (let step = 1; step <= Math.min(60, now - second); step += 1) buckets[(second + step) % 60] = 0;
      second = Math.max(second, now);
    }

    function value() {
      if (url) return fromServer;
      advance();
      return buckets.reduce((sum, count) => sum + count, 0);
    }

    function draw() {
      const count = value();
      const text = count === null ? "–" : String(count);
      if (paceCount.textContent !== text) paceCount.textContent = text;
    }

    async function load() {
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const body = await response.json();
        const count = Number(body.last_minute);
        if (Number.isFinite(count) && count >= 0) fromServer = count;
        draw();
      } catch (error) {
        // the pace is a nicety: keep the last figure
      }
    }

    function bump() {
      if (url) {
        if (fromServer !== null) fromServer += 1;
      } else {
        advance();
        buckets[second % 60] += 1;
      }
      draw();
    }

    function start() {
      if (url) {
        load();
        setInterval(() => {
          if (!document.hidden) load();
        }, PACE_REFRESH_MS);
      } else {
        draw();
        setInterval(draw, 5000); // the window moves on even when nothing arrives
      }
    }

    return { bump, start };
  })();

  // -- status: live, reconnecting, down ---------------------------------------------------------------------------
  let status = readJson(screen.dataset.status) || {};
  let streamOpen = false;
  let everOpened = false;

  function describe() {
    const source = ownStatus(status);
    const name = SOURCE_NAMES[source.source] || source.source || "the source";
    if (!streamOpen) return everOpened ? ["offline", "Reconnecting…"] : ["pending", "Connecting…"];
    if (source.ingester === "absent" || source.ingester === "silent") return ["down", "No ingester is running"];
    if (source.ingester === "stopped") return ["down", "The ingester has stopped"];
    const several = source.sources && typeof source.sources === "object" ? Object.values(source.sources) : [];
    if (several.some((one) => one && ["connected", "standby"].includes(one.state))) return ["live", "Live"];
    switch (source.state) {
      case "connected":
      case "standby":
      case "idle":
        return ["live", "Live"];
      case "reconnecting":
        return ["reconnecting", "Reconnecting to " + name];
      case "paused":
        return ["paused", typeof source.reason === "string" && source.reason ? source.reason : "Paused"];
      case "stopped":
        return ["down", name.charAt(0).toUpperCase() + name.slice(1) + " is down"];
      default:
        return ["pending", "Connecting to " + name + "…"];
    }
  }

  function renderStatus() {
    const [kind, text] = describe();
    liveLine.className = "live-status screen-live is-" + kind;
    if (liveText.textContent !== text) liveText.textContent = text;
  }

  // -- the stream -------------------------------------------------------------------------------------------------
  let stream = null;
  let lastEventId = "";
  let reopenDelay = 2000;

  function open() {
    let url = screen.dataset.streamUrl;
    if (lastEventId) url += "&last_event_id=" + encodeURIComponent(lastEventId);
    stream = new EventSource(url);
    stream.addEventListener("open", () => {
      streamOpen = true;
      everOpened = true;
      reopenDelay = 2000;
      renderStatus();
    });
    stream.addEventListener("error", () => {
      streamOpen = false;
      renderStatus();
      if (stream.readyState === EventSource.CLOSED) {
        // an answer that is not a stream (a restart, an error page): the browser gives up, so try again,
        // resuming after the last post seen
        stream = null;
        setTimeout(open, reopenDelay);
        reopenDelay = Math.min(reopenDelay * 2, 30000);
      }
    });
    stream.addEventListener("post", (event) => {
      if (event.lastEventId) lastEventId = event.lastEventId;
      arrive(readJson(event.data));
    });
    stream.addEventListener("delete", (event) => {
      const data = readJson(event.data);
      if (data && typeof data.id === "string") remove(data.id);
    });
    stream.addEventListener("status", (event) => {
      const data = readJson(event.data);
      if (data && typeof data === "object") status = data;
      renderStatus();
    });
  }

  // -- screen readers: the count of new posts, politely, at most every ANNOUNCE_MS ------------------------------
  let newPosts = 0;
  let announceTimer = null;

  function announceSoon() {
    if (announceTimer !== null || !newPosts) return;
    announceTimer = setTimeout(() => {
      announceTimer = null;
      if (!newPosts) return;
      const message = newPosts === 1 ? "1 new post" : newPosts + " new posts";
      newPosts = 0;
      announcer.textContent = ""; // emptied first, so that the same words are announced again
      setTimeout(() => {
        announcer.textContent = message;
      }, 50);
    }, ANNOUNCE_MS);
  }

  // -- start --------------------------------------------------------------------------------------------------------
  for (const article of list.children) prepare(article);
  layout();
  window.addEventListener("resize", layoutSoon);
  list.addEventListener("toggle", layoutSoon, true); // a content warning opened or closed: its card changed size
  renderStatus();
  pace.start();
  open();
})();
