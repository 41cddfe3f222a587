// What the inspector page computes from a row and the clock, between the server's batches.
// One file for the page (a classic script: window.seqstreamRows) and for the tests (require),
// so the tested arithmetic is the arithmetic the page runs.
'use strict';
(function (root) {
  /** The index a streaming row has reached by `t`: the server sends one number per interval. */
  function indexOf(row, t, intervalMs) {
    if (row.state !== 'streaming' || !row.connected) return row.index;
    return Math.min(row.length, row.index + Math.max(0, Math.floor((t - row.indexAt) / intervalMs)));
  }
  /** Milliseconds left in a suspended row's reconnect window; null when it has none. */
  function windowLeft(row, t) {
    return row.state === 'suspended' && row.deadline !== null ? Math.max(0, row.deadline - t) : null;
  }
  const api = { indexOf, windowLeft };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.seqstreamRows = api;
})(this);
