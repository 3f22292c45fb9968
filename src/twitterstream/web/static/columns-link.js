// "Add to columns" on a results page: opens the columns page with the columns last shown there (columns.js
// remembers them in this browser) and this query added; without them, or without script, this query alone.
(function () {
  "use strict";
  const link = document.getElementById("columns-link");
  if (!link) return;
  let remembered = [];
  try {
    const stored = JSON.parse(window.localStorage.getItem("twitterstream.columns") || "[]");
    if (Array.isArray(stored)) remembered = stored.filter((text) => typeof text === "string" && text);
  } catch (error) {
    return; // storage refused or unreadable: the link opens this query alone
  }
  const query = link.dataset.query;
  const texts = remembered.includes(query) ? remembered : remembered.concat([query]);
  const url = new URL(link.href, window.location.href);
  url.searchParams.delete("q");
  for (const text of texts) url.searchParams.append("q", text); // a seventh: the page says to remove one
  link.href = url.pathname + url.search;
})();
