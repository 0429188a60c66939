/*! Switchboard widget, plain JS, 8132 bytes. <script src="https://HOST/widget.js" async
 * data-server="https://HOST" data-groups="billing,support" data-lang="en"> (all optional) */
(function () {
  'use strict';
  var T = {
    en: { title: 'Contact support', loading: 'Loading…', open: 'Available now',
      busy: 'Open, all agents busy', closed: 'Closed', 'after-hours': 'After hours',
      wait: 'Approximate wait: ', talk: 'Talk now', callback: 'Call me back', chosen: ' selected.',
      failed: 'Availability unknown.', unsaved: 'Your choice could not be saved.',
      soon: 'Talking from the website is coming soon.', soonCb: 'Call-backs are coming soon.' },
    fr: { title: 'Contacter le support', loading: 'Chargement…', open: 'Disponible', busy: 'Tous occupés',
      closed: 'Fermé', 'after-hours': 'Hors horaires', wait: 'Attente estimée : ', talk: 'Parler maintenant',
      callback: 'Être rappelé', chosen: ' choisi.', failed: 'Disponibilité inconnue.', unsaved: 'Choix non enregistré.',
      soon: 'Bientôt disponible.', soonCb: 'Bientôt disponible.' }
  };
  var CSS = '.sbw{font:15px/1.4 system-ui,sans-serif;color:#222;background:#fff;max-width:24rem;' +
    'border:1px solid #ccc;border-radius:8px;padding:12px 16px}.sbw fieldset{border:0;margin:0;padding:0}' +
    '.sbw legend,.sbw-n{font-weight:600}.sbw-g{display:flex;gap:8px;padding:6px 0;border-top:1px solid #eee}' +
    '.sbw-n,.sbw-w{display:block}.sbw-w{color:#555}.sbw-s:before{content:"";display:inline-block;width:.6em;' +
    'height:.6em;border-radius:50%;margin-right:.4em;background:#888}.sbw [data-status=open]:before{background:' +
    '#1a7f37}.sbw [data-status=busy]:before{background:#b35900}.sbw button{font:inherit;padding:6px 12px;' +
    'margin:10px 8px 0 0;border-radius:6px;border:1px solid #0b57d0;background:#0b57d0;color:#fff}' +
    '.sbw button+button{background:#fff;color:#0b57d0}.sbw button:disabled{opacity:.45}' +
    '.sbw :focus-visible{outline:2px solid #0b57d0;outline-offset:2px}.sbw-l{min-height:1.4em;margin:8px 0 0}';

  var d = document, script = d.currentScript, ID = 'switchboard-widget';
  if (!script) return;
  var ds = script.dataset;
  var server = (ds.server || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  var only = ds.groups ? ds.groups.split(/\s*,\s*/) : null;
  var lang = (ds.lang || d.documentElement.lang || 'en').toLowerCase().split('-')[0];
  var root, form, list, talk, cb, live, groups = [], rows = {}, shown, chosen = null, picked = false;
  function t(k) { return (T[lang] || T.en)[k] || T.en[k]; }
  function el(tag, parent, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return parent ? parent.appendChild(e) : e;
  }
  function attr(e, k, v) { e.setAttribute(k, v); }
  function say(s) { live.textContent = s; }
  function group(id) { return groups.filter(function (g) { return g.id === id; })[0]; }
  function req(method, path, body) {
    var o = { method: method, credentials: 'include' };
    if (body) { o.headers = { 'Content-Type': 'application/json' }; o.body = JSON.stringify(body); }
    return fetch(server + path, o);
  }
  function btn(name, msg) { // only an event for now
    var b = el('button', form, '', t(name));
    b.type = 'button';
    b.disabled = true;
    b.dataset.action = name;
    b.onclick = function () {
      root.dispatchEvent(new CustomEvent('switchboard:' + name, { bubbles: true, detail: { group: chosen } }));
      say(t(msg));
    };
    return b;
  }
  function buttons() {
    var g = group(chosen);
    talk.disabled = !(g && g.status === 'open');
    cb.disabled = !g;
    if (rows[chosen]) rows[chosen].input.checked = true;
  }

  function choose(id) {
    chosen = id;
    picked = true;
    buttons();
    say(group(id).name + t('chosen'));
    req('POST', '/v1/context', { group: id, language: lang, page: location.pathname }).then(function (r) {
      if (!r.ok) throw r;
      if (chosen === id) root.dataset.saved = id;
    }).catch(function () { say(t('unsaved')); });
  }

  function render(data) {
    var before = group(chosen), ids = [];
    groups = (data.groups || []).filter(function (g) { return !only || only.indexOf(g.id) >= 0; });
    groups.forEach(function (g) { ids.push(g.id); });
    if (ids.join() !== shown) {
      shown = ids.join();
      list.textContent = '';
      rows = {};
      groups.forEach(function (g) {
        var row = el('div', list, 'sbw-g'), input = el('input', row), label = el('label', row);
        Object.assign(input, { type: 'radio', name: 'sbw-group', value: g.id, id: 'sbw-g-' + g.id });
        label.htmlFor = input.id;
        input.onchange = function () { if (input.checked) choose(g.id); };
        row.dataset.group = g.id;
        rows[g.id] = { input: input, name: el('span', label, 'sbw-n'), status: el('span', label, 'sbw-s'),
          wait: el('span', label, 'sbw-w') };
      });
      if (!group(chosen)) chosen = ids[0] || null;
      if (!picked) say('');
    }
    groups.forEach(function (g) {
      var r = rows[g.id], key = g.status === 'open' && !g.available_agents ? 'busy' : g.status;
      var w = g.status !== 'after-hours' && !g.available_agents && g.busy_agents > 0 && g.ewt_band;
      r.name.textContent = g.name;
      r.status.textContent = T.en[key] ? t(key) : g.status;
      r.status.dataset.status = key;
      r.wait.textContent = w ? t('wait') + g.ewt_band : '';
    });
    var now = group(chosen);
    if (picked && before && now && before.status !== now.status) say(now.name + ': ' + rows[now.id].status.textContent);
    buttons();
  }

  // Availability: the event stream, else polling with If-None-Match.
  var etag = '', every = 2000, timer, polling = true;
  function poll() {
    clearTimeout(timer);
    fetch(server + '/v1/availability', { headers: etag ? { 'If-None-Match': etag } : {} }).then(function (r) {
      if (r.status === 304) return;
      if (!r.ok) throw r;
      etag = r.headers.get('ETag') || '';
      return r.json().then(function (j) {
        every = Math.max(1, j.refresh_interval_seconds || 0) * 1000;
        render(j);
      });
    }).catch(function () { if (!groups.length) say(t('failed')); }).then(function () {
      if (polling) timer = setTimeout(poll, d.hidden ? 5 * every : every);
    });
  }

  function start() {
    root = d.getElementById(ID);
    if (!root) { // after the script, else at the end of the body
      root = el('div');
      root.id = ID;
      var p = script.parentNode;
      p && p !== d.head && p.isConnected ? p.insertBefore(root, script.nextSibling) : d.body.appendChild(root);
    }
    if (root.classList.contains('sbw')) return; // loaded twice
    root.classList.add('sbw');
    attr(root, 'role', 'region');
    attr(root, 'aria-label', t('title'));
    el('style', d.head, '', CSS);
    root.textContent = '';
    form = el('form', root);
    form.onsubmit = function (e) { e.preventDefault(); };
    var fs = el('fieldset', form);
    el('legend', fs, '', t('title'));
    list = el('div', fs);
    talk = btn('talk', 'soon');
    cb = btn('callback', 'soonCb');
    live = el('p', form, 'sbw-l', t('loading'));
    attr(live, 'role', 'status');
    attr(live, 'aria-live', 'polite');

    poll();
    if (window.EventSource) {
      var es = new EventSource(server + '/v1/availability/stream');
      es.addEventListener('availability', function (e) {
        polling = false;
        clearTimeout(timer);
        try { render(JSON.parse(e.data)); } catch (x) {}
      });
      es.onerror = function () { if (es.readyState === 2 && !polling) { polling = true; poll(); } };
    }
    // the visitor's last choice (signed cookie)
    req('GET', '/v1/context').then(function (r) { return r.ok ? r.json() : {}; }).then(function (j) {
      var g = j.context && j.context.group;
      if (g && !picked && (!groups.length || group(g))) { chosen = g; buttons(); }
    }).catch(function () {});
  }
  // async: the container may not be parsed yet
  d.getElementById(ID) || d.readyState !== 'loading' ? start() : d.addEventListener('DOMContentLoaded', start);
})();
