/* Switchboard agent console (docs/callbacks.md): plain JS, no framework, nothing loaded from elsewhere.
 * Every string from the server goes in with textContent, never as markup. */
(function () {
  'use strict';
  var d = document, KEY = 'sbc-token', EVERY = 3000;
  var $ = function (id) { return d.getElementById(id); };
  var login = $('sbc-login'), tokenInput = $('sbc-token'), main = $('sbc-main'), errorBox = $('sbc-error');
  var token = '', timer = 0, me = {}, gen = 0;

  function store(v) { try { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); } catch (x) {} }
  function el(tag, parent, text, cls) {
    var e = d.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function showError(msg) { errorBox.textContent = msg || ''; }

  // api calls the server with the agent's token; 401 signs out.
  function api(method, path, body) {
    var o = { method: method, headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' };
    if (body) { o.headers['Content-Type'] = 'application/json'; o.body = JSON.stringify(body); }
    return fetch(path, o).then(function (r) {
      if (r.status === 401) {
        signOut('The token was refused: sign in again.');
        throw null; // handled
      }
      return r;
    });
  }
  function reason(r) { // the server's words for a failed request
    return r.json().catch(function () { return {}; }).then(function (j) {
      return (j.message || j.error || 'HTTP ' + r.status);
    });
  }

  function signIn(v) {
    token = v;
    store(v);
    login.hidden = true;
    main.hidden = false;
    showError('');
    refresh();
  }
  function signOut(msg) {
    gen++;
    clearTimeout(timer);
    token = '';
    store('');
    main.hidden = true;
    login.hidden = false;
    tokenInput.value = '';
    showError(msg);
    tokenInput.focus();
  }

  function refresh() {
    var g = ++gen;
    clearTimeout(timer);
    api('GET', '/v1/console').then(function (r) {
      if (!r.ok) return reason(r).then(function (m) { throw new Error(m); });
      return r.json().then(function (j) {
        if (g !== gen) return;
        showError('');
        render(j);
      });
    }).catch(function (e) {
      if (e && g === gen) showError('The console could not be refreshed: ' + (e.message || e) + '. Retrying…');
    }).then(function () {
      if (g === gen && token) timer = setTimeout(refresh, d.hidden ? 3 * EVERY : EVERY);
    });
  }
  // act sends an action, then refreshes at once.
  function act(button, method, path, body, what) {
    button.disabled = true;
    api(method, path, body).then(function (r) {
      if (r.ok) return showError('');
      return reason(r).then(function (m) {
        showError(what + ' failed' + (r.status === 409 ? ' (it changed meanwhile)' : '') + ': ' + m);
      });
    }).catch(function (e) {
      if (e) showError(what + ' failed: ' + (e.message || e));
    }).then(function () {
      button.disabled = false;
      if (token) refresh();
    });
  }

  function minutes(s) {
    if (s == null || isNaN(s)) return '';
    return s < 60 ? 'under 1 min' : 'about ' + Math.round(s / 60) + ' min';
  }
  function age(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return '';
    var s = Math.max(0, Math.floor((Date.now() - t) / 1000)), m = Math.floor(s / 60), h = Math.floor(m / 60);
    return s < 60 ? s + ' s' : m < 60 ? m + ' min' : h + ' h ' + (m % 60) + ' min';
  }
  function mine(agent) { return !!agent && (agent === me.uri || agent === me.name); }

  // fill replaces a table's rows, keeping the focus on the same row's same control.
  function fill(table, items, key, row, empty, cols) {
    var body = table.tBodies[0], a = d.activeElement, keep = null;
    if (a && body.contains(a)) {
      var tr = a.closest('tr');
      keep = { key: tr && tr.getAttribute(key), sel: a.dataset.action ? '[data-action="' + a.dataset.action + '"]' : a.tagName };
    }
    body.textContent = '';
    items.forEach(function (it) { row(el('tr', body), it); });
    if (!items.length) el('td', el('tr', body, null, 'sbc-empty'), empty).colSpan = cols;
    if (keep && keep.key) {
      [].some.call(body.rows, function (tr) {
        if (tr.getAttribute(key) !== keep.key) return false;
        var x = tr.querySelector(keep.sel);
        if (x) x.focus();
        return true;
      });
    }
  }

  function renderAgent(a) {
    var box = $('sbc-agent'), state = a.state || 'unknown', f = d.activeElement, focus = f && box.contains(f) && f.dataset.action;
    box.textContent = '';
    el('span', box, a.name || a.uri || 'Agent', 'sbc-name');
    if (a.name && a.uri) el('span', box, a.uri, 'sbc-uri');
    var s = el('span', box, state, 'sbc-state');
    s.dataset.state = state;
    box.dataset.state = state;
    [['available', 'Available'], ['away', 'Away']].forEach(function (p) {
      var b = el('button', box, p[1]);
      b.type = 'button';
      b.dataset.action = p[0];
      b.setAttribute('aria-pressed', String(state === p[0]));
      b.onclick = function () { act(b, 'PUT', '/v1/agents/me/state', { state: p[0] }, 'Changing state'); };
    });
    el('span', box, null, 'sbc-spacer');
    var out = el('button', box, 'Sign out', 'sbc-2');
    out.type = 'button';
    out.dataset.action = 'signout';
    out.onclick = function () { signOut(''); };
    if (focus) { var x = box.querySelector('[data-action="' + focus + '"]'); if (x) x.focus(); }
  }

  function render(j) {
    me = j.agent || {};
    renderAgent(me);

    fill($('sbc-groups'), j.groups || [], 'data-group', function (tr, g) {
      tr.setAttribute('data-group', g.id);
      var name = el('td', tr, g.name || g.id);
      if (g.state === 'full' || g.state === 'closed' || g.state === 'after-hours') {
        el('span', name, ' (' + g.state.replace('-', ' ') + ')', 'sbc-muted');
      }
      el('td', tr, g.queue_length || 0, 'sbc-num');
      el('td', tr, minutes(g.ewt_seconds), 'sbc-num');
      el('td', tr, g.available || 0, 'sbc-num');
      el('td', tr, g.busy || 0, 'sbc-num');
      el('td', tr, g.away || 0, 'sbc-num');
    }, 'No group.', 6);

    fill($('sbc-callbacks'), j.callbacks || [], 'data-callback', function (tr, c) {
      var phone = String(c.phone || ''), state = c.state || '';
      tr.setAttribute('data-callback', c.callback_id);
      tr.dataset.state = state;
      if (state === 'taken' && mine(c.agent)) tr.className = 'sbc-mine';
      var a = el('a', el('td', tr), phone, 'sbc-phone');
      a.href = 'tel:' + phone.replace(/[^+\d]/g, '');
      a.title = 'Call ' + phone;
      el('td', tr, c.name || '');
      el('td', tr, c.group || '');
      var ctx = el('td', tr, null, 'sbc-ctx'), o = c.context || {};
      Object.keys(o).forEach(function (k) {
        if (o[k] !== '' && o[k] != null) el('span', ctx, k + ': ' + (typeof o[k] === 'object' ? JSON.stringify(o[k]) : o[k]));
      });
      el('td', tr, state);
      el('td', tr, c.attempts || 0, 'sbc-num');
      el('td', tr, age(c.enqueued), 'sbc-num');
      el('td', tr, c.agent || '');
      var cell = el('td', tr), path = '/v1/callbacks/' + encodeURIComponent(c.callback_id);
      function button(action, label, what) {
        var b = el('button', cell, label);
        b.type = 'button';
        b.dataset.action = action;
        b.onclick = function () { act(b, 'POST', path + '/' + action, null, what + ' ' + phone); };
      }
      if (state === 'queued') button('take', 'Take', 'Taking');
      if (state === 'taken' && mine(c.agent)) button('done', 'Done', 'Marking done');
    }, 'No call-back.', 9);

    fill($('sbc-calls'), j.calls || [], 'data-call', function (tr, c) {
      tr.setAttribute('data-call', c.call_id);
      el('td', tr, String(c.call_id || '').slice(0, 8), 'sbc-num').title = c.call_id || '';
      el('td', tr, c.group || '');
      el('td', tr, c.state || '');
      el('td', tr, c.agent || '');
    }, 'No live call.', 4);
  }

  login.onsubmit = function (e) {
    e.preventDefault();
    var v = tokenInput.value.trim();
    if (v) signIn(v);
  };
  d.addEventListener('visibilitychange', function () { if (!d.hidden && token) refresh(); });
  var saved = '';
  try { saved = sessionStorage.getItem(KEY) || ''; } catch (x) {}
  saved ? signIn(saved) : tokenInput.focus();
})();
