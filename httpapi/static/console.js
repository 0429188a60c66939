/* Switchboard agent console (docs/callbacks.md, docs/softphone.md): plain JS, no framework, nothing loaded
 * from elsewhere. Every string from the server goes in with textContent, never as markup. */
(function () {
  'use strict';
  var d = document, KEY = 'sbc-token', EVERY = 3000;
  var $ = function (id) { return d.getElementById(id); };
  var login = $('sbc-login'), tokenInput = $('sbc-token'), main = $('sbc-main'), errorBox = $('sbc-error');
  var token = '', timer = 0, me = {}, gen = 0, reasons = [], awayPick = '';

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
    phoneOff();
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
  // reasonName is the name of the away reason id, as configured.
  function reasonName(id) {
    var r = reasons.filter(function (r) { return r.id === id; })[0];
    return r ? r.name : id || '';
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
    var s = el('span', box, state, 'sbc-state'), why = reasonName(a.away_reason);
    if (state === 'away' && why) s.textContent = 'away · ' + why;
    s.dataset.state = state;
    box.dataset.state = state;
    [['available', 'Available'], ['away', 'Away']].forEach(function (p) {
      var b = el('button', box, p[1]);
      b.type = 'button';
      b.dataset.action = p[0];
      b.setAttribute('aria-pressed', String(state === p[0]));
      b.onclick = function () {
        var body = { state: p[0] };
        if (p[0] === 'away' && awayPick) body.reason = awayPick;
        act(b, 'PUT', '/v1/agents/me/state', body, 'Changing state');
      };
    });
    // the reason the Away button gives (the configured acd.away_reasons)
    var sel = el('select', box);
    sel.id = 'sbc-away-reason';
    sel.dataset.action = 'reason';
    sel.setAttribute('aria-label', 'Reason for being away');
    el('option', sel, 'No reason').value = '';
    reasons.forEach(function (r) { el('option', sel, r.name).value = r.id; });
    sel.value = awayPick;
    sel.onchange = function () { awayPick = sel.value; };
    el('span', box, null, 'sbc-spacer');
    var out = el('button', box, 'Sign out', 'sbc-2');
    out.type = 'button';
    out.dataset.action = 'signout';
    out.onclick = function () { signOut(''); };
    if (focus) { var x = box.querySelector('[data-action="' + focus + '"]'); if (x) x.focus(); }
  }

  function render(j) {
    me = j.agent || {};
    reasons = j.away_reasons || [];
    (j.groups || []).forEach(function (g) { groupNames[g.id] = g.name || g.id; });
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

    renderMyCall(j);

    fill($('sbc-calls'), j.calls || [], 'data-call', function (tr, c) {
      tr.setAttribute('data-call', c.call_id);
      el('td', tr, String(c.call_id || '').slice(0, 8), 'sbc-num').title = c.call_id || '';
      el('td', tr, c.group || '');
      el('td', tr, c.state || '');
      el('td', tr, c.agent || '');
    }, 'No live call.', 4);

    // Today's contacts, newest first, and their count and talk time.
    var hist = j.history || [], total = 0;
    fill($('sbc-history'), hist, 'data-contact', function (tr, h) {
      tr.setAttribute('data-contact', h.id);
      el('td', tr, new Date(h.start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), 'sbc-num');
      el('td', tr, { call: 'Talk now', chat: 'Chat', callback: 'Call-back' }[h.kind] || h.kind);
      el('td', tr, groupNames[h.group] || h.group);
      el('td', tr, h.visitor || '');
      el('td', tr, clock(h.duration_seconds), 'sbc-num');
      el('td', tr, (OUTCOMES[h.outcome] || h.outcome || '').replace(/-/g, ' '));
    }, 'Nothing yet today.', 6);
    hist.forEach(function (h) { total += h.duration_seconds; });
    $('sbc-day').textContent = hist.length ? hist.length + (hist.length === 1 ? ' contact' : ' contacts') + ', ' +
      clock(total) + ' in all.' : '';
  }
  var OUTCOMES = { 'visitor-hangup': 'the visitor hung up', 'agent-hangup': 'you hung up', 'visitor-left': 'the visitor left',
    'agent-ended': 'you ended it', idle: 'no message for a while', call: 'became a call' };
  // clock writes seconds as m:ss or h:mm:ss.
  function clock(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = ('0' + s % 60).slice(-2);
    return h ? h + ':' + ('0' + m).slice(-2) + ':' + r : m + ':' + r;
  }

  // The agent's own call, on whichever device (docs/calls.md): hold and blind transfer from the console. On
  // the browser phone the controls sit in its call panel; with a SIP phone, in "Your call".
  var my = null, targetsKey = '';
  function renderMyCall(j) {
    my = null;
    (j.calls || []).forEach(function (c) { if (c.state === 'talking' && c.agent_uri && c.agent_uri === me.uri) my = c; });
    var box = $('sbc-mycall'), ctl = $('sbc-callctl'), soft = ph.state === 'talking';
    var host = soft ? $('sbc-incall') : box;
    if (ctl.parentNode !== host) host.appendChild(ctl);
    box.hidden = !my || soft;
    ctl.hidden = !my;
    if (!my) { $('sbc-transfer-confirm').hidden = true; return; }
    box.dataset.call = my.call_id;
    $('sbc-mycall-with').textContent = 'Talking with a web visitor (' + (groupNames[my.group] || my.group) + ').';
    var hb = $('sbc-hold');
    hb.setAttribute('aria-pressed', String(!!my.held));
    $('sbc-hold-status').textContent = my.held ? 'On hold: the visitor hears the hold tone.' : '';
    // Agents available now, then every group; rebuilt only when the choice changes, keeping the selection.
    var opts = [];
    (j.agents || []).forEach(function (a) {
      if (a.uri !== me.uri && a.state === 'available') opts.push(['agent:' + a.uri, (a.name || a.uri) + ' (agent, available)']);
    });
    (j.groups || []).forEach(function (g) { opts.push(['group:' + g.id, (g.name || g.id) + ' (group)']); });
    var key = JSON.stringify(opts), sel = $('sbc-transfer-to');
    if (key !== targetsKey) {
      var was = sel.value;
      targetsKey = key;
      sel.textContent = '';
      opts.forEach(function (o) { el('option', sel, o[1]).value = o[0]; });
      if (opts.some(function (o) { return o[0] === was; })) sel.value = was;
    }
    $('sbc-transfer').disabled = !opts.length;
  }
  $('sbc-hold').onclick = function () {
    if (my) act(this, 'POST', '/v1/agents/me/call/hold', { held: !my.held }, my.held ? 'Resuming' : 'Holding');
  };
  $('sbc-transfer').onclick = function () {
    var sel = $('sbc-transfer-to'), o = sel.options[sel.selectedIndex];
    if (!o) return;
    $('sbc-transfer-q').textContent = 'Transfer the visitor to ' + o.textContent + '?';
    $('sbc-transfer-confirm').hidden = false;
    $('sbc-transfer-ok').focus();
  };
  $('sbc-transfer-cancel').onclick = function () {
    $('sbc-transfer-confirm').hidden = true;
    $('sbc-transfer').focus();
  };
  $('sbc-transfer-ok').onclick = function () {
    var v = $('sbc-transfer-to').value, i = v.indexOf(':'), body = {};
    body[v.slice(0, i)] = v.slice(i + 1);
    $('sbc-transfer-confirm').hidden = true;
    if (ph.call) ph.call.transferred = true;
    act(this, 'POST', '/v1/agents/me/call/transfer', body, 'Transferring');
  };

  // The browser phone (docs/softphone.md): one WebRTC connection to Switchboard, set up once and kept; calls
  // ring over its "softphone" data channel and their audio is switched on it. Between calls the microphone
  // track stays on the connection, disabled (silence), so that answering is instant.
  var ph = { state: 'off', gen: 0, muted: false }, groupNames = {};
  var phoneBox = $('sbc-phone'), toggle = $('sbc-phone-toggle'), phoneStatus = $('sbc-phone-status'), audio = $('sbc-audio');
  var OFF = 'Off: calls ring your SIP phone.', LABELS = { group: 'Group', language: 'Language', page: 'Page',
    customer: 'Customer', tier: 'Tier', name: 'Name' };

  function phoneState(s, msg) {
    ph.state = s;
    phoneBox.dataset.state = s;
    toggle.textContent = s === 'off' ? 'Use this browser as my phone' : 'Stop using this browser as my phone';
    toggle.className = s === 'off' ? '' : 'sbc-2';
    toggle.disabled = s === 'connecting';
    $('sbc-ring').hidden = s !== 'ringing' && s !== 'answering';
    $('sbc-answer').disabled = $('sbc-decline').disabled = s !== 'ringing';
    $('sbc-incall').hidden = s !== 'talking';
    $('sbc-mute').setAttribute('aria-pressed', String(ph.muted));
    if (ph.track) ph.track.enabled = s === 'talking' && !ph.muted;
    if (msg !== undefined) phoneStatus.textContent = msg;
    ringTone(s === 'ringing');
    clearInterval(ph.timer);
    if (s === 'talking') { tick(); ph.timer = setInterval(tick, 1000); }
  }
  function tick() {
    var n = ph.call && ph.call.start ? Math.floor((Date.now() - ph.call.start) / 1000) : 0;
    $('sbc-timer').textContent = ('0' + Math.floor(n / 60)).slice(-2) + ':' + ('0' + n % 60).slice(-2);
  }
  // ringTone plays the ringing cadence (440 + 480 Hz) while a call rings, on the page's own audio context
  // (made in the click that turned the phone on), never into the call.
  function ringTone(on) {
    clearInterval(ph.ringing);
    ph.ringing = 0;
    var ctx = ph.ctx;
    if (!on || !ctx) return;
    var beep = function () {
      var t = ctx.currentTime, g = ctx.createGain();
      g.gain.value = 0.05;
      g.connect(ctx.destination);
      [440, 480].forEach(function (f) { var o = ctx.createOscillator(); o.frequency.value = f; o.connect(g); o.start(t); o.stop(t + 1.5); });
    };
    beep();
    ph.ringing = setInterval(beep, 4000);
  }

  function phoneOn() {
    var md = navigator.mediaDevices, g = ++ph.gen;
    if (!window.RTCPeerConnection || !md) return phoneState('off', 'This browser cannot be a phone (no WebRTC).');
    try { ph.ctx = ph.ctx || new (window.AudioContext || window.webkitAudioContext)(); } catch (x) {}
    phoneState('connecting', 'Asking for the microphone…');
    (ph.stopping || Promise.resolve()).then(function () {
      return md.getUserMedia({ audio: true }).catch(function () { throw new Error('the microphone was refused'); });
    }).then(function (mic) {
      if (g !== ph.gen) return mic.getTracks().forEach(function (t) { t.stop(); });
      ph.mic = mic;
      ph.track = mic.getAudioTracks()[0];
      ph.track.enabled = false;
      var pc = ph.pc = new RTCPeerConnection(), dc;
      ph.sender = pc.addTrack(ph.track, mic);
      dc = ph.dc = pc.createDataChannel('softphone', { protocol: 'switchboard-softphone+json' });
      dc.onopen = function () { if (g === ph.gen) { phoneState('idle', 'On: calls ring here.'); if (token) refresh(); } };
      dc.onclose = function () { if (g === ph.gen) phoneDown('The browser phone disconnected.'); };
      dc.onmessage = function (e) { if (g === ph.gen) control(e.data); };
      pc.ontrack = function (e) { audio.srcObject = e.streams[0] || new MediaStream([e.track]); };
      pc.onconnectionstatechange = function () {
        if (g === ph.gen && pc.connectionState === 'failed') phoneDown('The browser phone lost its connection.');
      };
      phoneStatus.textContent = 'Connecting…';
      return pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }).then(function () {
        return new Promise(function (ok) { // no trickle: all the candidates, or those of the first 3 s
          setTimeout(ok, 3000);
          (pc.onicegatheringstatechange = function () { pc.iceGatheringState === 'complete' && ok(); })();
        });
      }).then(function () {
        return g === ph.gen && api('POST', '/v1/agents/me/softphone', { sdp: pc.localDescription.sdp });
      }).then(function (r) {
        if (!r) return;
        if (!r.ok) return reason(r).then(function (m) { throw new Error(m); });
        return r.json().then(function (j) { if (g === ph.gen) return pc.setRemoteDescription({ type: 'answer', sdp: j.sdp }); });
      });
    }).catch(function (e) {
      if (e && g === ph.gen) phoneDown('The browser phone could not start: ' + (e.message || e) + '.');
    });
  }
  // phoneDown drops the connection here (the server sees its channel close).
  function phoneDown(msg) {
    ph.gen++;
    if (ph.pc) ph.pc.close();
    if (ph.mic) ph.mic.getTracks().forEach(function (t) { t.stop(); });
    ph.pc = ph.dc = ph.mic = ph.track = ph.sender = ph.call = null;
    ph.muted = false;
    audio.srcObject = null;
    phoneState('off', msg || OFF);
  }
  // phoneOff turns the phone off: the server first, then here.
  function phoneOff() {
    if (ph.state === 'off') return;
    if (token) {
      ph.stopping = api('DELETE', '/v1/agents/me/softphone').catch(function () {}).then(function () {
        ph.stopping = null;
        if (token) refresh();
      });
    }
    phoneDown();
  }

  function send(type, text) {
    if (ph.dc && ph.dc.readyState === 'open' && ph.call) ph.dc.send(JSON.stringify({ type: type, call: ph.call.id, text: text }));
  }
  // control takes a message of the data channel.
  function control(data) {
    var f, c = ph.call;
    try { f = JSON.parse(data); } catch (x) { return; }
    if (f.type === 'ring') {
      ph.call = { id: f.call, from: f.from || 'Web visitor', kind: f.kind, phone: f.phone, context: f.context || {} };
      showRing(ph.call);
      return phoneState('ringing', 'Ringing: ' + ph.call.from + '.');
    }
    if (f.type === 'replaced') return phoneDown('The browser phone moved to another tab or window.');
    if (f.type === 'chat' || f.type === 'chat-typing') return chatIn(f);
    if (!c || c.id !== f.call) return;
    switch (f.type) {
      case 'cancel':
        ph.call = null;
        return phoneState('idle', f.reason === 'no-answer' ? 'Missed call from ' + c.from + '.' : c.from + ' hung up before you answered.');
      case 'talking':
        c.start = Date.now();
        $('sbc-chat-log').textContent = '';
        $('sbc-chat-log').hidden = true;
        phoneState('talking', 'On a call with ' + c.from + '.');
        return token && refresh(); // the call's controls
      case 'ended':
        return endCall(c.transferred ? 'You transferred the call.' : 'The call ended.');
      case 'message':
        return chatLine('visitor', f.text);
    }
  }
  function showRing(c) {
    var dl = $('sbc-ring-ctx'), o = c.context;
    $('sbc-ring-from').textContent = c.from;
    $('sbc-ring-kind').textContent = c.kind === 'callback' ? 'Call-back to ' + (c.phone || '') : 'Talk now, from the website';
    dl.textContent = '';
    Object.keys(o).forEach(function (k) {
      if (!o[k]) return;
      el('dt', dl, LABELS[k] || k);
      el('dd', dl, k === 'group' ? (groupNames[o[k]] || o[k]) + ' (' + o[k] + ')' : o[k]).dataset.key = k;
    });
  }
  function endCall(msg) {
    ph.call = null;
    ph.muted = false;
    attr($('sbc-keypad-toggle'), 'aria-expanded', 'false');
    $('sbc-keypad').hidden = true;
    phoneState('idle', msg);
  }
  function chatLine(from, text) {
    var log = $('sbc-chat-log'), li = el('li', log, (from === 'agent' ? 'You: ' : 'Visitor: ') + text);
    li.dataset.from = from;
    log.hidden = false;
    log.scrollTop = log.scrollHeight;
  }
  function attr(e, k, v) { e.setAttribute(k, v); }

  // A visitor's chat before a call, on the browser phone's channel (docs/softphone.md): the visitor's
  // text, Switchboard's own lines in [brackets], and typing; the agent's replies and typing back.
  var tx = { id: '', typing: 0, idle: 0 };
  function chatIn(f) {
    if (f.chat !== tx.id) { // a new chat: the last one's lines go
      tx.id = f.chat;
      $('sbc-text-log').textContent = '';
      $('sbc-text-from').textContent = f.from || 'Web visitor';
    }
    $('sbc-text').hidden = false;
    $('sbc-text-input').disabled = $('sbc-text-end').disabled = false;
    if (f.type === 'chat-typing') {
      $('sbc-text-typing').textContent = f.active ? $('sbc-text-from').textContent + ' is typing…' : '';
      return;
    }
    $('sbc-text-typing').textContent = '';
    var own = /^\[.*\]$/.test(f.text || '');
    textLine(own ? 'switchboard' : 'visitor', f.text);
    if (/^\[The chat has ended/.test(f.text || '')) $('sbc-text-input').disabled = $('sbc-text-end').disabled = true;
  }
  function textLine(from, text) {
    var log = $('sbc-text-log'), who = { agent: 'You: ', visitor: $('sbc-text-from').textContent + ': ', switchboard: '' }[from];
    el('li', log, who + text).dataset.from = from;
    log.scrollTop = log.scrollHeight;
  }
  function textSend(type, body) {
    if (ph.dc && ph.dc.readyState === 'open' && tx.id) ph.dc.send(JSON.stringify(Object.assign({ type: type, chat: tx.id }, body)));
  }
  $('sbc-text-form').onsubmit = function (e) {
    e.preventDefault();
    var input = $('sbc-text-input'), text = input.value.trim();
    if (!text || !tx.id) return;
    textSend('chat', { text: text });
    textLine('agent', text);
    input.value = '';
    clearTimeout(tx.idle);
    tx.typing = 0;
  };
  $('sbc-text-input').oninput = function () { // typing, again every 10 s, idle 5 s after the last key
    if (Date.now() - tx.typing > 10000) { tx.typing = Date.now(); textSend('chat-typing', { active: true }); }
    clearTimeout(tx.idle);
    tx.idle = setTimeout(function () { tx.typing = 0; textSend('chat-typing', { active: false }); }, 5000);
  };
  $('sbc-text-end').onclick = function () {
    textSend('chat', { text: '/end' });
    textLine('switchboard', 'You ended the chat.');
    $('sbc-text-input').disabled = $('sbc-text-end').disabled = true;
  };

  toggle.onclick = function () { ph.state === 'off' ? phoneOn() : phoneOff(); };
  $('sbc-answer').onclick = function () { send('answer'); phoneState('answering', 'Connecting the call…'); };
  $('sbc-decline').onclick = function () { send('decline'); ph.call = null; phoneState('idle', 'Call declined.'); };
  $('sbc-hangup').onclick = function () { send('hangup'); endCall('You hung up.'); };
  $('sbc-mute').onclick = function () { ph.muted = !ph.muted; phoneState(ph.state); };
  $('sbc-keypad-toggle').onclick = function () {
    var open = this.getAttribute('aria-expanded') !== 'true';
    attr(this, 'aria-expanded', String(open));
    $('sbc-keypad').hidden = !open;
  };
  '123456789*0#'.split('').forEach(function (digit) {
    var b = el('button', $('sbc-keypad'), digit, 'sbc-2');
    b.type = 'button';
    b.dataset.digit = digit;
    b.setAttribute('aria-label', 'Key ' + digit);
    b.onclick = function () { // RFC 4733 events on the call's audio
      var dtmf = ph.sender && ph.sender.dtmf;
      if (ph.state === 'talking' && dtmf && dtmf.canInsertDTMF) dtmf.insertDTMF(digit, 100, 70);
    };
  });
  $('sbc-chat-form').onsubmit = function (e) {
    e.preventDefault();
    var input = $('sbc-chat-input'), text = input.value.trim();
    if (!text || ph.state !== 'talking') return;
    send('message', text);
    chatLine('agent', text);
    input.value = '';
  };
  window.addEventListener('pagehide', function () { if (ph.pc) ph.pc.close(); });
  phoneState('off', OFF);

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
