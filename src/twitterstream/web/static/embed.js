// The embeddable wall: follow the query's live stream and keep the newest posts as text cards.
"use strict";
(function () {
  const wall = document.getElementById("embed-wall");
  if (!wall || !window.EventSource) return;
  const list = document.getElementById("embed-posts");
  const empty = document.getElementById("embed-empty");
  const live = document.getElementById("embed-live");
  const limit = Number(wall.dataset.limit) || 10;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;  // text only: a post's text is never HTML here
    return node;
  }

  function card(post) {
    const item = element("li", "embed-post");
    item.dataset.id = post.id;
    const author = element("p", "embed-author");
    author.append(element("strong", "", post.author.name || post.author.username || post.author.id || "?"));
    if (post.author.username) author.append(" ", element("span", "handle", "@" + post.author.username));
    // a sensitive post is only named by its content warning here: the "open" link leads to it
    const text = post.sensitive === true
      ? element("p", "embed-text embed-warning", "Content warning: " + post.content_warning + " (open it to read it)")
      : element("p", "embed-text", post.text);
    if (post.lang && post.sensitive !== true) text.lang = post.lang;
    const meta = element("p", "embed-meta");
    const time = element("time", "", post.created_at.slice(0, 16).replace("T", " ") + " UTC");
    time.dateTime = post.created_at;
    meta.append(time);
    if (typeof post.url === "string" && post.url.startsWith("https://")) {
      const link = element("a", "", "open");
      link.href = post.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      meta.append(" · ", link);
    }
    item.append(author, text, meta);
    return item;
  }

  function find(id) {
    return Array.from(list.children).find((item) => item.dataset.id === id);
  }

  function show(post) {
    if (find(post.id)) return;
    const newer = Array.from(list.children).find((item) => {
      const time = item.querySelector("time");
      return time && time.dateTime < post.created_at;
    });
    list.insertBefore(card(post), newer || null);
    while (list.children.length > limit) list.lastElementChild.remove();
    empty.hidden = true;
  }

  const stream = new EventSource(wall.dataset.streamUrl);
  stream.addEventListener("open", () => { live.dataset.state = "live"; live.textContent = "live"; });
  stream.addEventListener("error", () => { live.dataset.state = "connecting"; live.textContent = "reconnecting…"; });
  stream.addEventListener("post", (event) => show(JSON.parse(event.data)));
  stream.addEventListener("delete", (event) => {
    const item = find(JSON.parse(event.data).id);
    if (item) item.remove();
    empty.hidden = list.children.length > 0;
  });
})();
