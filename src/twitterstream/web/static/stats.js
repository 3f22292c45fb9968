// The stats panel of a results page: what arrived for the query in the last hour, from /api/v1/stats.
//
// Refreshed every REFRESH_MS, and soon after the live wall shows new posts (the post list changes), at
// most once per SOON_MS. Every string from the server goes into the page as text (textContent).
(function () {
  "use strict";
  const panel = document.getElementById("stats");
  if (!panel) return;

  const REFRESH_MS = 10000;
  const SOON_MS = 1500;
  const url = panel.dataset.statsUrl;
  const tagUrl = panel.dataset.tagUrl;
  const postsOut = document.getElementById("stats-posts");
  const mediaOut = document.getElementById("stats-media");
  const bars = document.getElementById("stats-bars");
  const note = document.getElementById("stats-note");
  const lists = {
    hashtags: document.getElementById("stats-hashtags"),
    authors: document.getElementById("stats-authors"),
    languages: document.getElementById("stats-languages"),
  };
  let loading = false;
  let again = false;
  let soon = null;

  function item(label, count, href) {
    const li = document.createElement("li");
    const name = document.createElement(href ? "a" : "span");
    name.textContent = label;
    name.title = label;
    if (href) name.href = href;
    const number = document.createElement("span");
    number.className = "count";
    number.textContent = String(count);
    li.append(name, number);
    return li;
  }

  function fill(list, entries) {
    const items = entries.map((entry) => item(entry.label, entry.count, entry.href));
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = "None yet";
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  function drawBars(perMinute) {
    const most = Math.max(1, ...perMinute);
    bars.replaceChildren(
      ...perMinute.map((count, index) => {
        const bar = document.createElement("span");
        bar.className = "stats-bar";
        bar.style.height = (100 * count) / most + "%"; // CSSOM: allowed by the CSP, unlike style attributes
        const ago = perMinute.length - 1 - index;
        bar.title = count + (ago ? " posts " + ago + " min ago" : " posts this minute");
        return bar;
      })
    );
    bars.setAttribute(
      "aria-label",
      "Posts per minute over the last hour: at most " + Math.max(0, ...perMinute) + ", " +
        perMinute[perMinute.length - 1] + " this minute"
    );
  }

  function show(body) {
    postsOut.textContent = String(body.posts);
    mediaOut.textContent = Math.round(100 * body.media_share) + "%";
    drawBars(body.per_minute.map(Number));
    fill(lists.hashtags, body.top_hashtags.map((t) => ({
      label: "#" + t.tag, count: t.count, href: tagUrl + encodeURIComponent(t.tag),
    })));
    fill(lists.authors, body.top_authors.map((a) => ({ label: "@" + a.username, count: a.count })));
    fill(lists.languages, body.languages.map((l) => ({ label: l.lang, count: l.count })));
    panel.dataset.posts = String(body.posts); // what the browser tests wait for
    note.hidden = true;
  }

  async function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      show(await response.json());
    } catch (error) {
      // keep the last figures, and say they may be old
      note.textContent = "The stats could not be updated; retrying.";
      note.hidden = false;
    } finally {
      loading = false;
      if (again) { again = false; refresh(); }
    }
  }

  function refreshSoon() {
    if (soon !== null) return;
    soon = setTimeout(() => { soon = null; refresh(); }, SOON_MS);
  }

  const posts = document.getElementById("posts");
  if (posts) new MutationObserver(refreshSoon).observe(posts, { childList: true });
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
})();
