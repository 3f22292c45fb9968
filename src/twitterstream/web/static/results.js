// The live wall: keeps the page in step with /api/v1/stream (Server-Sent Events).
(function () {
  "use strict";
  const section = document.querySelector("section.results");
  if (!section || !window.EventSource) return;
  const list = document.getElementById("posts");
  const empty = document.getElementById("empty");
  const statusLine = document.getElementById("live-status");

  function safeUrl(url) {
    return typeof url === "string" && /^https:\/\//.test(url) ? url : "#";
  }

  function card(post) {
    const article = document.createElement("article");
    article.className = "post new";
    article.dataset.id = post.id;
    article.dataset.created = post.created_at;
    if (post.embed_html) {
      const embed = document.createElement("div");
      embed.className = "embed";
      embed.innerHTML = post.embed_html; // sanitised on the server (allowlist)
      article.appendChild(embed);
      return article;
    }
    const box = document.createElement("div");
    box.className = "card";
    const author = document.createElement("p");
    author.className = "author";
    const name = document.createElement("strong");
    name.textContent = post.author.name || post.author.username || post.author.id;
    author.appendChild(name);
    if (post.author.username) {
      const handle = document.createElement("span");
      handle.className = "handle";
      handle.textContent = " @" + post.author.username;
      author.appendChild(handle);
    }
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = post.text;
    if (post.lang) text.lang = post.lang;
    const meta = document.createElement("p");
    meta.className = "meta";
    const time = document.createElement("time");
    time.dateTime = post.created_at;
    time.title = new Date(post.created_at).toLocaleString();
    time.textContent = post.created_at;
    const link = document.createElement("a");
    link.href = safeUrl(post.url);
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    link.textContent = "View post";
    meta.append(time, " · ", link);
    box.append(author, text, meta);
    article.appendChild(box);
    return article;
  }

  function upgrade(element) {
    if (window.twttr && window.twttr.widgets) window.twttr.widgets.load(element);
  }

  function insert(post) {
    if (list.querySelector('[data-id="' + CSS.escape(post.id) + '"]')) return;
    const element = card(post);
    let before = null;
    for (const other of list.children) {
      if (other.dataset.created <= post.created_at) { before = other; break; }
    }
    list.insertBefore(element, before);
    empty.hidden = true;
    upgrade(element);
  }

  const source = new EventSource(section.dataset.streamUrl);
  source.addEventListener("post", (e) => insert(JSON.parse(e.data)));
  source.addEventListener("embed", (e) => {
    const data = JSON.parse(e.data);
    const old = list.querySelector('[data-id="' + CSS.escape(data.id) + '"]');
    if (!old || old.querySelector(".embed")) return;
    const embed = document.createElement("div");
    embed.className = "embed";
    embed.innerHTML = data.embed_html;
    old.replaceChildren(embed);
    upgrade(old);
  });
  source.addEventListener("delete", (e) => {
    const data = JSON.parse(e.data);
    const old = list.querySelector('[data-id="' + CSS.escape(data.id) + '"]');
    if (old) old.remove();
  });
  source.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    statusLine.textContent = s.state + (s.reason ? ": " + s.reason : "");
  });
  source.onerror = () => { statusLine.textContent = "reconnecting…"; };
  source.onopen = () => { statusLine.textContent = "live"; };
})();
