// Times as people read them: "2 min ago" that stays current, with the exact local time on hover.
// Shared by the pages as window.TwitterStream.time; it touches only <time class="ago"> elements.
(function () {
  "use strict";
  const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  const dayMonth = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
  const dayMonthYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });

  function parse(value) {
    const date = value instanceof Date ? value : new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  /** "just now", "5 min ago", "3 h ago", then the date. */
  function ago(value, now) {
    const date = parse(value);
    if (!date) return "";
    now = now || new Date();
    const seconds = (now.getTime() - date.getTime()) / 1000;
    if (seconds < 45) return "just now"; // also a little in the future: clocks differ
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    const hours = Math.round(minutes / 60);
    if (hours < 24) return hours + " h ago";
    return (date.getFullYear() === now.getFullYear() ? dayMonth : dayMonthYear).format(date);
  }

  function exactTime(value) {
    const date = parse(value);
    return date ? exact.format(date) : "";
  }

  function clockTime(value) {
    const date = parse(value);
    return date ? clock.format(date) : "";
  }

  /** Rewrite every <time class="ago"> under root: relative text, exact local time as its title. */
  function refresh(root) {
    const now = new Date();
    for (const element of (root || document).querySelectorAll("time.ago[datetime]")) {
      const text = ago(element.dateTime, now);
      if (!text) continue;
      if (element.textContent !== text) element.textContent = text;
      if (!element.dataset.exact) {
        element.dataset.exact = "1";
        element.title = exactTime(element.dateTime);
      }
    }
  }

  window.TwitterStream = window.TwitterStream || {};
  window.TwitterStream.time = { ago, exactTime, clockTime, refresh };
  refresh(document);
  setInterval(() => refresh(document), 20000);
})();
