/* Switchboard supervisor view: plain JS, no framework, nothing loaded from elsewhere. The board
 * comes as server-sent events read with fetch (EventSource cannot send the bearer token); every
 * string from the server goes in with textContent. */
(function () {
  'use strict';
  var d = document, KEY = 'sbs-token';
  var $ = function (id) { return d.getElementById(id); };
  var login = $('sbs-login'), tokenInput = $('sbs-token'), main = $('sbs-main'), errorBox = $('sbs-error');
  var token = '', gen = 0, board = null, tick = 0, abort = null;

  function store(v) { try { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); } catch (x) {} }
  function el(tag, parent, text, cls) {
    var e = d.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  // dur writes seconds as 1:05 or 1:02:05.
  function dur(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = ('0' + s % 60).slice(-2);
    return h ? h + ':' + ('0' + m).slice(-2) + ':' + r : m + ':' + r;
  }
  var REASONS = { manual: 'set away in the console', phone: 'away on the phone', misses: 'missed calls in a row' };

  function draw() {
    if (!board) return;
    var now = Date.now(), gb = $('sbs-groups').tBodies[0], ab = $('sbs-agents').tBodies[0];
    $('sbs-who').textContent = 'Signed in as ' + board.supervisor;
    gb.textContent = '';
    board.groups.forEach(function (g) {
      var tr = el('tr', gb), left = g.served_today + g.abandoned_today;
      tr.dataset.group = g.id;
      tr.dataset.alert = String(g.queue_length > 0 && g.available === 0 && g.busy === 0);
      el('th', tr, g.name).scope = 'row';
      el('td', tr, g.state);
      el('td', tr, g.queue_length, 'sbs-num');
      el('td', tr, g.queue_length ? dur(g.oldest_wait_seconds) : '–', 'sbs-num');
      el('td', tr, g.queue_length || g.ewt_seconds ? dur(g.ewt_seconds) : '–', 'sbs-num');
      el('td', tr, g.available, 'sbs-num');
      el('td', tr, g.busy, 'sbs-num');
      el('td', tr, g.away, 'sbs-num');
      el('td', tr, g.served_today, 'sbs-num');
      el('td', tr, g.abandoned_today + (left ? ' (' + Math.round(100 * g.abandoned_today / left) + ' %)' : ''), 'sbs-num');
    });
    ab.textContent = '';
    board.agents.forEach(function (a) {
      var tr = el('tr', ab), st = el('td', tr);
      tr.dataset.agent = a.uri;
      tr.insertBefore(el('th', null, a.name || a.uri), st).scope = 'row';
      el('span', st, a.state, 'sbs-state').dataset.state = a.state;
      var why = REASONS[a.away_reason] || (board.away_reasons || {})[a.away_reason] || a.away_reason;
      if (why) el('span', st, ' ' + why, 'sbs-muted');
      el('td', tr, dur((now - Date.parse(a.since)) / 1000), 'sbs-num');
      el('td', tr, a.groups.join(', '));
    });
  }

  // follow reads the board's event stream; a dropped stream is opened again.
  function follow() {
    var g = ++gen, ctl = abort = window.AbortController ? new AbortController() : null;
    fetch('/v1/supervisor/events', { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store',
      signal: ctl && ctl.signal }).then(function (r) {
      if (r.status === 401) { signOut('The token was refused: sign in again.'); return; }
      if (!r.ok || !r.body) throw r;
      $('sbs-live').textContent = 'Live';
      var reader = r.body.getReader(), dec = new TextDecoder(), buf = '';
      return (function pump() {
        return reader.read().then(function (x) {
          if (x.done || g !== gen) return;
          buf += dec.decode(x.value, { stream: true });
          var i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            var ev = buf.slice(0, i), data = /(?:^|\n)data: (.*)/.exec(ev);
            buf = buf.slice(i + 2);
            if (/(?:^|\n)event: board/.test(ev) && data) { board = JSON.parse(data[1]); draw(); }
          }
          return pump();
        });
      })();
    }).catch(function () {}).then(function () {
      if (g !== gen || !token) return;
      $('sbs-live').textContent = 'Reconnecting…';
      setTimeout(function () { g === gen && follow(); }, 3000);
    });
  }

  function signIn(v) {
    token = v;
    store(v);
    login.hidden = true;
    main.hidden = false;
    errorBox.textContent = '';
    follow();
    clearInterval(tick);
    tick = setInterval(draw, 1000); // time in state
  }
  function signOut(msg) {
    gen++;
    abort && abort.abort();
    clearInterval(tick);
    token = '';
    store('');
    main.hidden = true;
    login.hidden = false;
    tokenInput.value = '';
    errorBox.textContent = msg || '';
    tokenInput.focus();
  }
  login.addEventListener('submit', function (e) {
    e.preventDefault();
    var v = tokenInput.value.trim();
    if (v) signIn(v);
  });
  var saved = '';
  try { saved = sessionStorage.getItem(KEY) || ''; } catch (x) {}
  if (saved) signIn(saved);
})();
