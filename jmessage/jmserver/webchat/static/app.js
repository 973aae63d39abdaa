// app.js: the jimbot dev chat page. It speaks the JMessage Web SDK v1 wire
// protocol (see the project's jmessage-v1.md, §2–§8) through the vendored
// socket.io-client 1.4.5, on the page's own origin:
//
//   c_init (payload signed by the page's server, GET /dev/auth)
//   → login {username, password: md5hex}
//   → requests: emit <event> {..., rid} → ack {rid} → <event> {rid, code, ...}
//   ← msg_sync, answered with msg_recv; ← event_notification, echoed back.
//
// Unlike SDK v1, it redoes c_init (with a fresh signature) and login after
// every socket.io reconnect. History is kept in memory only.
'use strict';

(function () {
  const REQUEST_TIMEOUT_MS = 15000;
  const TRACE_POLL_MS = 2000;
  // Response events the page listens to (spec §6): the names of the
  // requests it sends.
  const RESPONSE_EVENTS = ['c_init', 'login', 'register', 's_single_text', 'send_group_msg',
    'get_groups_list', 'get_group_info'];
  // Login failures that reconnecting cannot cure.
  const FATAL_LOGIN_CODES = new Set([880103, 880104, 880111, 882002]);
  // Group event types (spec §8.3).
  const EV = { KICKED: 1, PASSWORD: 2, CREATED: 8, EXITED: 9, ADDED: 10, REMOVED: 11, UPDATED: 12 };

  const $ = (sel) => document.querySelector(sel);

  // el builds an element: el('li', {class: 'x', dataset: {from: 'a'}}, child…).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  async function fetchJSON(url) {
    const resp = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
    return resp.json();
  }

  class ProtocolError extends Error {
    constructor(event, code, message) {
      super(`${event} failed: ${code} ${message || ''}`.trim());
      this.event = event;
      this.code = code;
    }
  }

  // ------------------------------------------------------------ Session

  // Session is one logged-in user: a socket.io connection that is
  // (re)initialised and logged in after every connect.
  class Session {
    // handlers: onState(state, detail), onLogin(count), onMessage(envelope,
    // content), onEvent(notification), onStop(reason).
    constructor(username, password, { register = false } = {}, handlers) {
      this.username = username;
      this.passwordMD5 = window.md5(password);
      this.registerFirst = register;
      this.h = handlers;
      this.rid = 0; // per page, every emit (SDK v1)
      this.pending = new Map(); // rid → {event, resolve, reject, timer}
      this.gen = 0; // connection generation, to drop stale handshakes
      this.logins = 0;
      this.online = false;
      this.stopped = false;
    }

    // start connects and resolves after the first login; it rejects when
    // the first c_init or login fails.
    start() {
      return new Promise((resolve, reject) => {
        this.first = { resolve, reject };
        const socket = window.io(location.origin, {
          transports: ['websocket'],
          reconnection: true,
          reconnectionDelay: 500,
          reconnectionDelayMax: 5000,
          timeout: 10000,
          'force new connection': true,
        });
        this.socket = socket;
        socket.on('connect', () => this.handshake());
        socket.on('disconnect', (reason) => this.lost(reason));
        socket.on('connect_error', () => this.h.onState('connecting', 'cannot reach the server, retrying…'));
        socket.on('reconnecting', (n) => this.h.onState('connecting', `reconnecting (attempt ${n})…`));
        socket.on('ack', () => {}); // "request received"; the response follows
        for (const ev of RESPONSE_EVENTS) socket.on(ev, (d) => this.onResponse(ev, d));
        socket.on('msg_sync', (d) => this.onMsgSync(d));
        socket.on('event_notification', (d) => this.onEvent(d));
        this.h.onState('connecting', 'connecting…');
      });
    }

    // handshake runs c_init (fresh signature) and login on a new
    // connection; a newer connection supersedes it.
    async handshake() {
      const gen = ++this.gen;
      this.online = false;
      this.h.onState('connecting', 'signing in…');
      try {
        const auth = await fetchJSON('/dev/auth');
        if (gen !== this.gen) return;
        await this.request('c_init', auth);
        if (this.registerFirst) {
          await this.request('register', { username: this.username, password: this.passwordMD5 });
          this.registerFirst = false;
        }
        const resp = await this.request('login', { username: this.username, password: this.passwordMD5 });
        if (gen !== this.gen || this.stopped) return;
        if (!resp.username) throw new ProtocolError('login', resp.code, 'no username in the response');
        this.online = true;
        this.logins++;
        this.h.onState('online', `logged in as ${this.username}`);
        this.h.onLogin(this.logins);
        if (this.first) { this.first.resolve(); this.first = null; }
      } catch (err) {
        if (gen !== this.gen || this.stopped) return;
        if (this.first) {
          this.first.reject(err);
          this.first = null;
          this.stop('');
          return;
        }
        if (err instanceof ProtocolError && err.event === 'login' && FATAL_LOGIN_CODES.has(err.code)) {
          this.stop(`Login refused after reconnecting (${err.message}).`);
          return;
        }
        // Anything else (server restarting, a request lost): reconnect.
        this.h.onState('connecting', `${err.message}; retrying…`);
        const s = this.socket;
        s.disconnect();
        setTimeout(() => { if (!this.stopped) s.connect(); }, 1000);
      }
    }

    lost(reason) {
      this.online = false;
      this.gen++;
      for (const [rid, p] of this.pending) {
        this.pending.delete(rid);
        clearTimeout(p.timer);
        p.reject(new Error(`${p.event}: connection lost (${reason})`));
      }
      if (!this.stopped) this.h.onState('connecting', `connection lost (${reason}), reconnecting…`);
    }

    // emit sends one event with the next rid. It never lets socket.io
    // buffer: a buffered emit would go out before c_init on reconnect.
    emit(event, body) {
      if (!this.socket || !this.socket.connected) throw new Error(`${event}: not connected`);
      const rid = ++this.rid;
      this.socket.emit(event, Object.assign({}, body, { rid }));
      return rid;
    }

    // request sends a request and resolves with its response when code is
    // 0; it rejects with a ProtocolError otherwise.
    request(event, body) {
      return new Promise((resolve, reject) => {
        let rid;
        try {
          rid = this.emit(event, body);
        } catch (err) {
          reject(err);
          return;
        }
        const timer = setTimeout(() => {
          this.pending.delete(rid);
          reject(new Error(`${event}: no response within ${REQUEST_TIMEOUT_MS / 1000}s`));
        }, REQUEST_TIMEOUT_MS);
        this.pending.set(rid, { event, resolve, reject, timer });
      });
    }

    onResponse(event, d) {
      if (!d || typeof d !== 'object') return;
      const p = this.pending.get(d.rid);
      if (!p || p.event !== event) return; // not ours (SDK v1 drops these too)
      this.pending.delete(d.rid);
      clearTimeout(p.timer);
      if (d.code === 0 || d.code === undefined) p.resolve(d);
      else p.reject(new ProtocolError(event, d.code, d.message));
    }

    // onMsgSync hands every message to the page, then acknowledges the
    // batch with msg_recv (spec §7.1).
    onMsgSync(d) {
      const msgs = d && Array.isArray(d.messages) ? d.messages : [];
      const acks = [];
      for (const m of msgs) {
        if (!m || typeof m !== 'object') continue;
        acks.push({ msg_id: m.msg_id, msg_type: m.msg_type, from_uid: m.from_uid, from_gid: m.from_gid });
        let content = m.content;
        if (typeof content === 'string') {
          try { content = JSON.parse(content); } catch (e) { content = { msg_type: 'text', msg_body: { text: content } }; }
        }
        try {
          this.h.onMessage(m, content && typeof content === 'object' ? content : {});
        } catch (err) {
          console.error('rendering a message failed', err, m);
        }
      }
      if (acks.length) {
        try { this.emit('msg_recv', { messages: acks }); } catch (e) { /* redelivered on re-login */ }
      }
    }

    // onEvent echoes the notification (spec §8.2) and hands it to the page.
    onEvent(d) {
      if (!d || typeof d !== 'object') return;
      try {
        this.emit('event_notification', { event_id: d.event_id, event_type: d.event_type, from_uid: d.from_uid, gid: d.gid });
      } catch (e) { /* redelivered on re-login */ }
      if (d.event_type === EV.KICKED) {
        this.stop('Logged in elsewhere: this page has stopped. 已在其他地方登录。');
        return;
      }
      if (d.event_type === EV.PASSWORD) {
        this.stop('The password was changed: this page has stopped. 密码已修改，请重新登录。');
        return;
      }
      this.h.onEvent(d);
    }

    // stop ends the session for good: no reconnects.
    stop(reason) {
      if (this.stopped) return;
      this.stopped = true;
      this.online = false;
      this.gen++;
      if (this.socket) {
        this.socket.io.reconnection(false);
        // Let the event echo go out before closing.
        const s = this.socket;
        setTimeout(() => s.close(), 200);
      }
      if (reason) this.h.onStop(reason);
    }

    close() {
      this.stopped = true;
      this.gen++;
      if (this.socket) {
        this.socket.io.reconnection(false);
        this.socket.close();
      }
    }
  }

  // ------------------------------------------------------------ page state

  const page = {
    config: null,
    session: null,
    me: '',
    convs: new Map(), // key → conversation
    order: [], // keys in list order
    current: null,
    seenMsgs: new Set(),
    seenEvents: new Set(),
    localSeq: 0,
    traceTimer: null,
    lastTraces: '',
  };

  // A conversation: {key, kind: 'group'|'user', id, title, items: [], unread}.
  function conversation(kind, id, title) {
    const key = `${kind}:${id}`;
    let c = page.convs.get(key);
    if (!c) {
      c = { key, kind, id: String(id), title: title || '', items: [], unread: 0 };
      page.convs.set(key, c);
      page.order.push(key);
      renderConversations();
    } else if (title && !c.title) {
      c.title = title;
      renderConversations();
    }
    return c;
  }

  function convTitle(c) {
    if (c.kind === 'group') return c.title || `group ${c.id}`;
    return c.title || c.id;
  }

  function setState(state, detail) {
    const s = $('#status');
    s.dataset.state = state;
    s.textContent = { online: 'online', connecting: 'connecting', offline: 'offline', kicked: 'stopped', stopped: 'stopped' }[state] || state;
    s.title = detail || '';
  }

  // ------------------------------------------------------------ rendering

  function renderConversations() {
    const ul = $('#conversations');
    ul.replaceChildren();
    for (const key of page.order) {
      const c = page.convs.get(key);
      const btn = el('button', {
        type: 'button', class: 'conv',
        dataset: { conv: c.key, kind: c.kind },
        'aria-current': c.key === page.current ? 'true' : 'false',
      },
      el('span', { class: 'conv-title', text: convTitle(c) }),
      el('span', { class: 'conv-kind', text: c.kind === 'group' ? 'group' : (page.config && c.id === page.config.bot ? 'bot' : '1:1') }),
      c.unread ? el('span', { class: 'badge', 'aria-label': `${c.unread} unread`, text: String(c.unread) }) : null);
      btn.addEventListener('click', () => openConversation(c.key));
      ul.append(el('li', {}, btn));
    }
  }

  function openConversation(key) {
    const c = page.convs.get(key);
    if (!c) return;
    page.current = key;
    c.unread = 0;
    renderConversations();
    $('#conv-title').textContent = c.kind === 'group' ? `${convTitle(c)} · group ${c.id}` : `${convTitle(c)} · 1:1`;
    const list = $('#messages');
    list.dataset.conv = key;
    list.replaceChildren(...c.items.map(renderItem));
    list.scrollTop = list.scrollHeight;
    $('#composer').disabled = false;
    $('#send').disabled = false;
    $('#composer').focus();
  }

  function formatTime(ms) {
    const d = new Date(ms || Date.now());
    const pad = (n) => String(n).padStart(2, '0');
    const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return hms;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
  }

  // describe returns the text shown for a message body: its text, or a
  // one-line placeholder for types the page does not render.
  function describe(type, body) {
    body = body && typeof body === 'object' ? body : {};
    switch (type) {
      case 'text': return { text: String(body.text ?? '') };
      case 'image':
        // Only plain media ids ("qiniu/image/j/…") make an /media/ URL.
        if (typeof body.media_id === 'string' && /^[\w.\/-]+$/.test(body.media_id) && !body.media_id.includes('..')) {
          return { text: '[image]', image: body.media_id };
        }
        return { text: '[image]', placeholder: true };
      case 'voice': return { text: `[voice message${body.duration ? `, ${body.duration} s` : ''}]`, placeholder: true };
      case 'file': return { text: `[file${body.fname ? `: ${body.fname}` : ''}]`, placeholder: true };
      case 'location': return { text: `[location${body.label ? `: ${body.label}` : ''}]`, placeholder: true };
      case 'video': return { text: '[video]', placeholder: true };
      case 'custom': return { text: '[custom message]', placeholder: true };
      default: return { text: `[${type || 'unknown'} message]`, placeholder: true };
    }
  }

  function renderItem(item) {
    if (item.sys) {
      return el('li', { class: 'sys', dataset: { eventType: String(item.eventType || '') }, text: `${formatTime(item.time)} · ${item.text}` });
    }
    const d = describe(item.type, item.body);
    let body;
    if (d.image) {
      const src = '/media/' + d.image;
      body = el('div', { class: 'body' }, el('img', { src, alt: `image from ${item.from}`, loading: 'lazy' }));
    } else {
      body = el('div', { class: d.placeholder ? 'body placeholder' : 'body', text: d.text });
    }
    const li = el('li', {
      class: item.from === page.me ? 'msg mine' : 'msg',
      dataset: { from: item.from, text: d.text, type: item.type || '', msgId: String(item.msgId || ''), state: item.state || 'received' },
    },
    el('div', { class: 'meta' },
      el('span', { class: 'from', text: item.fromName && item.fromName !== item.from ? `${item.fromName} (${item.from})` : item.from }),
      el('time', { datetime: new Date(item.time || Date.now()).toISOString(), text: formatTime(item.time) })),
    body,
    item.failure ? el('div', { class: 'failure', text: item.failure }) : null);
    item.node = li;
    return li;
  }

  // push adds an item to a conversation and shows it when current.
  function push(c, item) {
    c.items.push(item);
    if (page.current === c.key) {
      const list = $('#messages');
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      list.append(renderItem(item));
      if (atBottom || item.from === page.me) list.scrollTop = list.scrollHeight;
    } else {
      c.unread++;
      renderConversations();
    }
  }

  function refresh(item) {
    if (item.node && item.node.isConnected) item.node.replaceWith(renderItem(item));
  }

  function systemLine(c, text, eventType) {
    push(c, { sys: true, text, eventType, time: Date.now() });
  }

  // ------------------------------------------------------------ inbound

  function onMessage(m, content) {
    const id = m.msg_id;
    if (id !== undefined && page.seenMsgs.has(id)) return; // redelivered
    if (id !== undefined) page.seenMsgs.add(id);
    const from = content.from_id || `uid ${m.from_uid}`;
    let c;
    if (m.msg_type === 4 || content.target_type === 'group') {
      const gid = m.from_gid || content.target_id;
      c = conversation('group', gid, content.target_name);
    } else {
      const peer = from === page.me ? content.target_id : from;
      c = conversation('user', peer);
    }
    push(c, {
      msgId: id, from, fromName: content.from_name, time: m.ctime_ms || (m.ctime ? m.ctime * 1000 : content.create_time),
      type: content.msg_type, body: content.msg_body,
    });
  }

  function names(ev) {
    if (Array.isArray(ev.to_usernames) && ev.to_usernames.length) {
      return ev.to_usernames.map((u) => u.username).join(', ');
    }
    if (Array.isArray(ev.to_uidlist) && ev.to_uidlist.length) {
      return ev.to_uidlist.map((u) => `uid ${u}`).join(', ');
    }
    return 'someone';
  }

  function onEvent(ev) {
    if (ev.event_id !== undefined) {
      if (page.seenEvents.has(ev.event_id)) return;
      page.seenEvents.add(ev.event_id);
    }
    const actor = ev.from_username || (ev.from_uid ? `uid ${ev.from_uid}` : 'an admin');
    const groupTypes = [EV.CREATED, EV.EXITED, EV.ADDED, EV.REMOVED, EV.UPDATED];
    if (!groupTypes.includes(ev.event_type) || !ev.gid) return; // not shown
    const c = conversation('group', ev.gid, ev.group_name);
    const includesMe = Array.isArray(ev.to_usernames) && ev.to_usernames.some((u) => u.username === page.me);
    let text;
    switch (ev.event_type) {
      case EV.CREATED: text = `${actor} created the group${ev.group_name ? ` “${ev.group_name}”` : ''}`; break;
      case EV.EXITED: text = `${ev.from_username || names(ev)} left the group`; break;
      case EV.ADDED: text = `${actor} added ${names(ev)}`; break;
      case EV.REMOVED: text = `${actor} removed ${names(ev)}${includesMe ? ' (you are no longer a member)' : ''}`; break;
      case EV.UPDATED:
        text = `${actor} updated the group info${ev.group_name ? ` (name: ${ev.group_name})` : ''}`;
        if (ev.group_name) { c.title = ev.group_name; renderConversations(); }
        break;
    }
    if (ev.event_type === EV.ADDED && includesMe && !c.title) loadGroupName(c);
    if (ev.new_owner && ev.new_owner.username) text += `; ${ev.new_owner.username} is the new owner`;
    systemLine(c, text, ev.event_type);
  }

  async function loadGroupName(c) {
    try {
      const r = await page.session.request('get_group_info', { gid: String(c.id) });
      if (r.group_info && r.group_info.name) { c.title = r.group_info.name; renderConversations(); }
    } catch (e) { /* keep "group <gid>" */ }
  }

  // ------------------------------------------------------------ sending

  async function send(text) {
    const c = page.convs.get(page.current);
    const s = page.session;
    if (!c || !s) return;
    const now = Date.now();
    const content = {
      version: 1,
      target_type: c.kind === 'group' ? 'group' : 'single',
      target_id: String(c.id),
      from_platform: 'web',
      from_id: page.me,
      create_time: now,
      msg_type: 'text',
      msg_body: { text },
    };
    if (c.title) content.target_name = c.title;
    const item = { from: page.me, time: now, type: 'text', body: { text }, state: 'sending', localId: ++page.localSeq };
    push(c, item);
    try {
      if (!s.online) throw new Error('not connected (reconnecting…)');
      const r = c.kind === 'group'
        ? await s.request('send_group_msg', { target_gid: String(c.id), content })
        : await s.request('s_single_text', { target_name: String(c.id), content });
      item.state = 'sent';
      item.msgId = r.msg_id;
      if (r.msg_id !== undefined) page.seenMsgs.add(r.msg_id);
    } catch (err) {
      item.state = 'failed';
      item.failure = `not sent: ${err.message}`;
    }
    refresh(item);
  }

  // ------------------------------------------------------------ inspector

  function formatDuration(ns) {
    if (!(ns > 0)) return '0';
    if (ns < 1e3) return `${ns} ns`;
    if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs`;
    if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
    return `${(ns / 1e9).toFixed(2)} s`;
  }

  // short drops the page's own appkey from "user:<appkey>/<name>" and
  // "<appkey>/<name>", which the bot's traces use.
  function short(s) {
    const key = page.config && page.config.appkey;
    if (!s || !key) return s || '';
    return s.replace(`${key}/`, '');
  }

  function renderTraces(traces) {
    const ol = $('#traces');
    ol.replaceChildren(...traces.map((t) => el('li', {
      class: t.matched ? 'trace matched' : 'trace unmatched',
      dataset: { eventId: t.event_id || '', kind: t.kind || '', chat: t.chat || '', matched: String(!!t.matched) },
    },
    el('div', { class: 'trace-head' },
      el('span', { class: 'kind', text: t.kind }),
      el('span', { class: 'chat', text: short(t.chat) }),
      el('span', { class: 'dur', text: formatDuration(t.duration_ns) })),
    t.text ? el('div', { class: 'trace-text' },
      t.sender ? el('span', { class: 'sender', text: `${short(t.sender)}: ` }) : null,
      t.text) : null,
    !t.text && t.sender ? el('div', { class: 'muted', text: `by ${short(t.sender)}` }) : null,
    t.matched ? null : el('div', { class: 'muted', text: 'no plugin took it' }),
    el('ol', { class: 'steps' }, ...(t.steps || []).map((s) => el('li', {
      class: 'step',
      dataset: { plugin: s.plugin, handler: s.handler, outcome: s.outcome },
    },
    el('span', { class: 'plugin', text: s.plugin }),
    el('span', { class: 'handler', text: s.handler }),
    el('span', { class: 'outcome', text: s.outcome }),
    el('span', { class: 'dur', text: formatDuration(s.duration_ns) }),
    s.error ? el('span', { class: 'err', text: s.error }) : null))),
    t.outbox ? el('div', { class: 'muted', text: `${t.outbox} action(s) queued` }) : null)));
  }

  async function pollTraces() {
    const url = page.config.tracesURL;
    try {
      const resp = await fetch(url + (url.includes('?') ? '&' : '?') + 'n=20', { cache: 'no-store', credentials: 'same-origin' });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const text = await resp.text();
      $('#traces-status').textContent = `updated ${formatTime(Date.now())}`;
      if (text !== page.lastTraces) {
        page.lastTraces = text;
        const traces = JSON.parse(text);
        renderTraces(Array.isArray(traces) ? traces : []);
      }
    } catch (err) {
      $('#traces-status').textContent = `cannot read ${url}: ${err.message}`;
    }
  }

  function startInspector() {
    if (!page.config.tracesURL || page.traceTimer) return;
    $('#inspector').hidden = false;
    const tick = () => { if (document.visibilityState !== 'hidden') pollTraces(); };
    tick();
    page.traceTimer = setInterval(tick, TRACE_POLL_MS);
  }

  function stopInspector() {
    clearInterval(page.traceTimer);
    page.traceTimer = null;
  }

  // ------------------------------------------------------------ login

  function resetChat() {
    page.convs.clear();
    page.order = [];
    page.current = null;
    page.seenMsgs.clear();
    page.seenEvents.clear();
    $('#messages').replaceChildren();
    delete $('#messages').dataset.conv;
    $('#conv-title').textContent = 'Pick a conversation';
    $('#composer').disabled = true;
    $('#send').disabled = true;
    renderConversations();
  }

  function showLogin(message) {
    stopInspector();
    if (page.session) page.session.close();
    page.session = null;
    page.me = '';
    resetChat();
    $('#chat-panel').hidden = true;
    $('#login-panel').hidden = false;
    $('#logout').hidden = true;
    $('#me').textContent = '';
    $('#login-error').textContent = message || '';
    setState('offline');
  }

  // credentials returns the name and password the login form holds.
  function credentials() {
    const pick = $('#login-user').value;
    const demo = (page.config.users || []).find((u) => u.name === pick);
    if (demo) return { name: demo.name, password: demo.password };
    return { name: $('#login-name').value.trim(), password: $('#login-password').value };
  }

  async function login(register) {
    const { name, password } = credentials();
    if (!name || !password) {
      $('#login-error').textContent = 'Enter a username and a password.';
      return;
    }
    $('#login-error').textContent = '';
    $('#login').disabled = $('#register').disabled = true;
    $('#banner').hidden = true;
    resetChat();
    page.me = name;
    const session = new Session(name, password, { register }, {
      onState: (state, detail) => { if (page.session === session) setState(state, detail); },
      onLogin: (n) => {
        if (page.session !== session) return;
        $('#status').dataset.logins = String(n);
        if (n > 1) {
          for (const c of page.convs.values()) if (c.key === page.current) systemLine(c, 'reconnected and logged in again');
        }
      },
      onMessage: (m, content) => { if (page.session === session) onMessage(m, content); },
      onEvent: (ev) => { if (page.session === session) onEvent(ev); },
      onStop: (reason) => {
        if (page.session !== session) return;
        setState(reason.startsWith('Logged in elsewhere') ? 'kicked' : 'stopped', reason);
        $('#banner-text').textContent = reason;
        $('#banner').hidden = false;
        $('#composer').disabled = true;
        $('#send').disabled = true;
        stopInspector();
      },
    });
    page.session = session;
    $('#status').dataset.logins = '0';
    try {
      await session.start();
    } catch (err) {
      if (page.session === session) {
        page.session = null;
        setState('offline');
        $('#login-error').textContent = explain(err, register);
      }
      return;
    } finally {
      $('#login').disabled = $('#register').disabled = false;
    }
    enterChat(session);
  }

  function explain(err, register) {
    const known = {
      880103: 'No such user.', 880104: 'Wrong password.', 880111: 'This user is disabled.',
      882002: register ? 'This user exists already.' : 'No such user, or a wrong password.',
      880101: 'The app key is unknown to the server.', 880102: 'The server refused the signature.',
    };
    return known[err.code] ? `${known[err.code]} (${err.code})` : err.message;
  }

  async function enterChat(session) {
    $('#login-panel').hidden = true;
    $('#chat-panel').hidden = false;
    $('#logout').hidden = false;
    $('#me').textContent = page.me;
    const cfg = page.config;
    for (const g of cfg.groups || []) conversation('group', g.gid, g.name);
    if (cfg.bot && cfg.bot !== page.me) conversation('user', cfg.bot);
    for (const u of cfg.users || []) if (u.name !== page.me) conversation('user', u.name);
    startInspector();
    if (!page.current && page.order.length) openConversation(page.order[0]);
    // Add the groups the user is in besides the demo ones.
    try {
      const r = await session.request('get_groups_list', {});
      for (const g of r.group_list || []) conversation('group', g.gid, g.name);
    } catch (e) { /* the demo groups are listed already */ }
  }

  // ------------------------------------------------------------ wiring

  async function main() {
    try {
      page.config = await fetchJSON('/dev/config');
    } catch (err) {
      $('#login-error').textContent = `Cannot load /dev/config: ${err.message}`;
      return;
    }
    const sel = $('#login-user');
    for (const u of page.config.users || []) sel.append(el('option', { value: u.name, text: u.name }));
    if ((page.config.users || []).length) sel.value = page.config.users[0].name;
    const syncCustom = () => { $('#login-custom').hidden = sel.value !== ''; };
    sel.addEventListener('change', syncCustom);
    syncCustom();

    $('#login-form').addEventListener('submit', (e) => { e.preventDefault(); login(false); });
    $('#register').addEventListener('click', () => {
      if (sel.value !== '') { // register always uses a typed name
        sel.value = '';
        syncCustom();
        $('#login-error').textContent = 'Type the new user’s name and password, then press “Register & log in” again.';
        $('#login-name').focus();
        return;
      }
      login(true);
    });
    $('#logout').addEventListener('click', () => showLogin());
    $('#relogin').addEventListener('click', () => { $('#banner').hidden = true; showLogin(); });

    $('#composer-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const box = $('#composer');
      const text = box.value;
      if (!text.trim()) return;
      box.value = '';
      send(text);
    });
    $('#composer').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $('#composer-form').requestSubmit();
      }
    });
    $('#new-chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const name = $('#new-chat').value.trim();
      if (!name || !page.session) return;
      $('#new-chat').value = '';
      openConversation(conversation('user', name).key);
    });
    $('#status').dataset.ready = 'true';
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
