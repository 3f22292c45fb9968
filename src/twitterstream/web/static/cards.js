// Cards: one post drawn from its Post JSON, exactly as templates/_post.html draws it on the server (keep the
// two in step). Every string from the server goes in as text (textContent, or a property such as alt);
// links lead only to https pages or this app's own paths. The service's embed HTML, sanitised by the server,
// waits in an inert <template> until the reader asks for the original.
//
// A picture that cannot load (gone, blocked, offline) never shows a broken-image icon: an avatar falls back
// to the author's initial underneath it, a media item to its alt text.
(function () {
  "use strict";
  const time = window.TwitterStream.time;
  const SERVICES = { x: "X", bluesky: "Bluesky", mastodon: "Mastodon" };
  const LINK_KINDS = ["hashtag", "mention", "link"];
  const MEDIA_TYPES = ["photo", "video", "animated_gif"];
  const BADGES = { video: "Video", animated_gif: "GIF" };
  const OWN_PATH = /^\/(static|results)\/[^\s"'<>\\]*$/;

  function element(tag, className, content) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (content !== undefined) made.textContent = content;
    return made;
  }

  function parsed(url) {
    if (typeof url !== "string") return null;
    try {
      return new URL(url, window.location.origin);
    } catch (error) {
      return null;
    }
  }

  /** Where a link may lead: an https page, or a path of this app (a hashtag's wall, a bundled picture). */
  function linkUrl(url) {
    if (typeof url === "string" && OWN_PATH.test(url)) return url;
    const found = typeof url === "string" && /^https:\/\//i.test(url) ? parsed(url) : null;
    return found ? found.href : null;
  }

  /** Where a picture may come from: http(s) (the page's CSP decides which hosts), or a bundled picture. */
  function imageUrl(url) {
    if (typeof url === "string" && url.startsWith("/static/") && OWN_PATH.test(url)) return url;
    const found = typeof url === "string" && /^https?:\/\//i.test(url) ? parsed(url) : null;
    return found ? found.href : null;
  }

  function size(value) {
    return Number.isInteger(value) && value > 0 && value <= 100000 ? value : null;
  }

  function picture(src, alt, className) {
    const img = element("img", className);
    img.alt = alt;
    img.loading = "lazy";
    img.referrerPolicy = "no-referrer";
    img.src = src;
    return img;
  }

  function avatar(author, who) {
    const box = element("span", "avatar", Array.from(who)[0].toUpperCase());
    box.setAttribute("aria-hidden", "true");
    const src = imageUrl(author.avatar_url);
    if (src) box.append(picture(src, "", "avatar-img"));
    return box;
  }

  function textOf(post) {
    const body = element("p", "text");
    if (typeof post.lang === "string" && /^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$/.test(post.lang)) body.lang = post.lang;
    const parts = Array.isArray(post.text_parts) ? post.text_parts : [{ text: String(post.text || "") }];
    for (const part of parts) {
      if (!part || typeof part.text !== "string") continue;
      const href = LINK_KINDS.includes(part.kind) ? linkUrl(part.href) : null;
      if (!href) {
        body.append(part.text);
        continue;
      }
      const link = element("a", part.kind, part.text);
      link.href = href;
      if (part.kind !== "hashtag") {
        link.rel = "noopener noreferrer";
        link.target = "_blank";
      }
      body.append(link);
    }
    return body;
  }

  function mediaOf(post) {
    const items = (Array.isArray(post.media) ? post.media : []).filter((m) => m && MEDIA_TYPES.includes(m.type));
    if (!items.length) return null;
    const shown = items.slice(0, 4);
    const grid = element("div", "media media-count-" + shown.length);
    for (const item of shown) {
      const alt = typeof item.alt === "string" ? item.alt : "";
      const still = imageUrl(item.preview_url) || (item.type === "photo" ? imageUrl(item.url) : null);
      const target = (item.type === "photo" && linkUrl(item.url)) || linkUrl(post.url);
      const box = element(target ? "a" : "span", "media-item media-" + item.type);
      if (target) {
        box.href = target;
        box.rel = "noopener noreferrer";
        box.target = "_blank";
      }
      const missing = element("span", "media-missing", alt || "Picture not available");
      box.append(missing);
      if (still) {
        missing.hidden = true;
        const img = picture(still, alt, "");
        const width = size(item.width);
        const height = size(item.height);
        if (width && height) {
          img.width = width;
          img.height = height;
        }
        box.append(img);
      }
      if (BADGES[item.type]) box.append(element("span", "media-badge", BADGES[item.type]));
      grid.append(box);
    }
    return grid;
  }

  function showOriginalButton() {
    const button = element("button", "show-original", "Show original");
    button.type = "button";
    return button;
  }

  function cardOf(post) {
    const author = post.author || {};
    const who = String(author.name || author.username || author.id || "?");
    const box = element("div", "card");
    const head = element("div", "author");
    head.append(avatar(author, who));
    const names = element("span", "who");
    names.append(element("strong", "name", who));
    if (author.username) names.append(" ", element("span", "handle", "@" + author.username));
    head.append(names);
    const service = SERVICES[post.source];
    if (service) {
      const icon = element("span", "source-icon source-" + post.source);
      icon.setAttribute("role", "img");
      icon.setAttribute("aria-label", service);
      icon.title = service;
      head.append(icon);
    }
    box.append(head);
    const body = [textOf(post)];
    const grid = mediaOf(post);
    if (grid) body.push(grid);
    if (post.content_warning || post.sensitive) {
      const warning = element("details", "warning");
      const summary = element("summary");
      const label = typeof post.content_warning === "string" && post.content_warning ? post.content_warning : "Sensitive content";
      summary.append(element("span", "warning-label", label), " ", element("span", "warning-open", "Show"));
      warning.append(summary, ...body);
      box.append(warning);
    } else {
      box.append(...body);
    }
    const meta = element("p", "meta");
    const when = element("time", "ago", time.ago(post.created_at));
    when.dateTime = post.created_at;
    when.title = time.exactTime(post.created_at);
    when.dataset.exact = "1";
    meta.append(when);
    const url = linkUrl(post.url);
    if (url && url.startsWith("https:")) {
      const link = element("a", "", "View on " + (service || "the source"));
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      meta.append(" · ", link);
    }
    if (post.embed_html) meta.append(" · ", showOriginalButton());
    box.append(meta);
    return box;
  }

  function originalOf(html) {
    const template = document.createElement("template");
    template.className = "original";
    template.innerHTML = html; // inert until shown; sanitised on the server (allowlist per service)
    return template;
  }

  /** The service's embed, as a box; ``html`` is sanitised on the server, or a <template> holding it. */
  function embedBox(html) {
    const box = element("div", "embed");
    if (html instanceof HTMLTemplateElement) box.append(html.content.cloneNode(true));
    else box.innerHTML = html; // sanitised on the server (allowlist per service); nothing else uses innerHTML
    return box;
  }

  /** An <article> for a post: our card, or (mode "original") the service's embed once it is known. */
  function render(post, mode) {
    const article = element("article", "post");
    article.dataset.id = post.id;
    article.dataset.created = post.created_at;
    article.dataset.source = post.source || "";
    if (post.embed_html && mode === "original") {
      article.append(embedBox(post.embed_html));
    } else {
      article.append(cardOf(post));
      if (post.embed_html) article.append(originalOf(post.embed_html));
    }
    return article;
  }

  /** The service's embed arrived for a card: keep it ready behind "Show original". */
  function setOriginal(article, html) {
    const card = article.querySelector(".card");
    if (!card) return;
    const old = article.querySelector("template.original");
    if (old) old.remove();
    article.append(originalOf(html));
    const meta = card.querySelector(".meta");
    if (meta && !meta.querySelector(".show-original")) meta.append(" · ", showOriginalButton());
  }

  /** Swap a card for the service's embed; the caller upgrades it. Returns false when there is none. */
  function showOriginal(article) {
    const template = article.querySelector("template.original");
    if (!template) return false;
    article.replaceChildren(embedBox(template));
    return true;
  }

  // -- pictures that cannot load ------------------------------------------------------------------------
  function failed(img) {
    const item = img.closest(".media-item");
    if (item) {
      const missing = item.querySelector(".media-missing");
      if (missing) missing.hidden = false;
      item.classList.add("is-missing");
    }
    img.remove(); // an avatar's initial is underneath it
  }

  /** Images of cards that failed before this script ran (a server-rendered page). */
  function checkPictures(root) {
    for (const img of root.querySelectorAll(".card img")) {
      if (img.complete && img.naturalWidth === 0) failed(img);
    }
  }

  document.addEventListener(
    "error",
    (event) => {
      const target = event.target;
      if (target instanceof HTMLImageElement && target.closest(".card")) failed(target);
    },
    true // load errors do not bubble: catch them on the way down
  );

  /** `text` parsed as JSON (a post, a status: what the pages hand their scripts and the streams send), or null. */
  function readJson(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return null;
    }
  }

  window.TwitterStream = window.TwitterStream || {};
  window.TwitterStream.cards = { render, embedBox, setOriginal, showOriginal, checkPictures, readJson };
  checkPictures(document);
})();
