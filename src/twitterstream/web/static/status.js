// The source status as a query's status line reads it. With several networks running, the server adds
// `networks` to a query's status: the networks the query runs on (its source: filter keeps them and they can
// evaluate it). The status line reads only those, so "X down" never shows on the page of #a source:bluesky;
// the header and the banner still speak of every network. Shared by the pages as window.TwitterStream.status.
(function () {
  "use strict";
  const KEYS = ["source", "state", "reason", "retry_at", "warning", "since"];

  /** The status line's view of `status`: the keys of its first network (the first source's own when that is
   * one of them), `ingester`, and `sources` with only its networks; `status` itself when it names no network
   * it has. query_status.own_status says the same in Python (the page's first paint). */
  function own(status) {
    if (!status || typeof status !== "object") return {};
    const sources = status.sources && typeof status.sources === "object" ? status.sources : null;
    if (!sources || !Array.isArray(status.networks)) return status;
    const kept = {};
    for (const name of status.networks) {
      const one = Object.prototype.hasOwnProperty.call(sources, name) ? sources[name] : null;
      if (one && typeof one === "object") kept[name] = one;
    }
    const names = Object.keys(kept);
    if (!names.length) return status;
    const lead = names.includes(status.source) ? status : kept[names[0]];
    const view = { ingester: status.ingester, sources: kept, networks: status.networks };
    for (const key of KEYS) view[key] = lead[key];
    return view;
  }

  window.TwitterStream = window.TwitterStream || {};
  window.TwitterStream.status = { own };
})();
