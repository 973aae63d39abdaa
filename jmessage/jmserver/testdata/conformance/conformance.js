'use strict';
// Conformance run of a jimbot JMessage server against socket.io-client 1.4.5,
// the client the JMessage Web SDK v1 is built on. A tiny wrapper (Jim, below)
// behaves like SDK110 on the wire (spec §2-§4, §7.1, §8.2):
//
//   - one socket per login/register, io(url, {transports:[one transport],
//     reconnection:true, reconnectionDelay:500, reconnectionDelayMax:1000,
//     'force new connection':true, ...});
//   - a per-socket rid counter starting at 1, incremented for every emit
//     (requests, msg_recv, event echoes);
//   - plain socket.io events only (never socket.io ack callbacks); the
//     response is matched on data.rid, after an `ack {rid}`;
//   - every gid sent as a string (v1.1.2);
//   - msg_sync answered with msg_recv {messages:[{msg_id,msg_type,from_uid,
//     from_gid}], rid}; event_notification echoed with {event_id,event_type,
//     from_uid,gid,rid}.
//
// Usage (flags or environment variables):
//   node conformance.js --url http://127.0.0.1:PORT --appkey K --secret S \
//     --appkey2 K2 --secret2 S2 --across-user NAME --across-password PW \
//     [--transport websocket|polling|both] [--redeliver-ms N] [--tag T] [--timeout-ms N]
//   env: JM_URL JM_APPKEY JM_SECRET JM_APPKEY2 JM_SECRET2 JM_ACROSS_USER
//        JM_ACROSS_PASSWORD JM_TRANSPORT JM_REDELIVER_MS JM_TAG JM_TIMEOUT_MS
//
// --across-user is a user of the second app (registered by the caller with
// the admin API). --redeliver-ms is the server's RedeliverAfter; without it
// the redelivery step is skipped.
//
// Prints one line per step ("ok ..." or "FAIL ..."), then a line
// "USERS [...]" naming every user the run created, and exits non-zero when
// any step failed.

const io = require('socket.io-client');
const crypto = require('crypto');
const assert = require('assert');

// ---------------------------------------------------------------- config

function flag(name, env, def) {
  const i = process.argv.indexOf('--' + name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (process.env[env] !== undefined && process.env[env] !== '') return process.env[env];
  return def;
}

const cfg = {
  url: flag('url', 'JM_URL'),
  appkey: flag('appkey', 'JM_APPKEY'),
  secret: flag('secret', 'JM_SECRET'),
  appkey2: flag('appkey2', 'JM_APPKEY2'),
  secret2: flag('secret2', 'JM_SECRET2'),
  acrossUser: flag('across-user', 'JM_ACROSS_USER'),
  acrossPassword: flag('across-password', 'JM_ACROSS_PASSWORD'),
  transport: flag('transport', 'JM_TRANSPORT', 'both'),
  redeliverMs: Number(flag('redeliver-ms', 'JM_REDELIVER_MS', '0')),
  tag: flag('tag', 'JM_TAG', ''),
  timeoutMs: Number(flag('timeout-ms', 'JM_TIMEOUT_MS', '50000')),
};

for (const k of ['url', 'appkey', 'secret', 'appkey2', 'secret2', 'acrossUser', 'acrossPassword']) {
  if (!cfg[k]) {
    console.error(`conformance.js: missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} (see the header of this file)`);
    process.exit(2);
  }
}
cfg.url = cfg.url.replace(/\/+$/, '');
const transports = cfg.transport === 'both' ? ['websocket', 'polling'] : [cfg.transport];
for (const t of transports) {
  if (t !== 'websocket' && t !== 'polling') {
    console.error(`conformance.js: --transport must be websocket, polling or both, not ${t}`);
    process.exit(2);
  }
}

// Every request event of spec §6 (the names a v1 client may send), plus the
// v2 event the malformed-payload step sends.
const REQUEST_EVENTS = [
  'c_init', 'register', 'login', 'logout',
  'get_user_info', 'get_across_user_info',
  's_single_text', 's_across_single_text', 'send_group_msg',
  'create_group', 'get_groups_list', 'get_group_info',
  'add_group_member', 'add_across_group_member', 'del_group_member', 'del_across_group_member',
  'get_group_members', 'update_group_info', 'exit_group',
  'get_conversations', 'get_upload_token',
  'no_disturb', 'add_msg_no_disturb_single', 'delete_msg_no_disturb_single',
  'add_msg_no_disturb_group', 'delete_msg_no_disturb_group',
  'add_msg_no_disturb_global', 'delete_msg_no_disturb_global',
  'get_black_list', 'add_black_list', 'del_black_list',
];
const LISTENED_EVENTS = REQUEST_EVENTS.concat(['sync_check']);

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const md5 = (s) => crypto.createHash('md5').update(s, 'utf8').digest('hex');
const J = (v) => {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 1500 ? s.slice(0, 1500) + '…' : s;
  } catch (e) {
    return String(v);
  }
};

class StepError extends Error {
  constructor(message, sent, got) {
    super(message);
    this.sent = sent;
    this.got = got;
  }
}

function check(cond, message, got, sent) {
  if (!cond) throw new StepError(message, sent, got);
}

// expect asserts the code of a response returned by Jim.request.
function expect(resp, codes, what) {
  const want = Array.isArray(codes) ? codes : [codes];
  if (!want.includes(resp.code)) {
    throw new StepError(`${resp._event}: want code ${want.join(' or ')}${what ? ' (' + what + ')' : ''}, got ${resp.code}`,
      resp._sent, resp);
  }
  return resp;
}

function expectNonZero(resp, what) {
  if (typeof resp.code !== 'number' || resp.code === 0) {
    throw new StepError(`${resp._event}: want a non-zero code${what ? ' (' + what + ')' : ''}, got ${J(resp.code)}`, resp._sent, resp);
  }
  return resp;
}

function isID(v) {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

// signature of spec §5; upper selects the UPPERCASE hex form.
function sign(appkey, timestamp, randomStr, secret, upper) {
  const s = md5(`appkey=${appkey}&timestamp=${timestamp}&random_str=${randomStr}&key=${secret}`);
  return upper ? s.toUpperCase() : s;
}

// authPayload builds a c_init payload the way a v1 developer does.
function authPayload(appkey, secret, o = {}) {
  const ts = o.timestamp !== undefined ? o.timestamp : Date.now();
  const random = o.random !== undefined ? o.random : crypto.randomBytes(16).toString('hex');
  const p = {
    appkey,
    random_str: random,
    timestamp: o.tsString ? String(ts) : ts,
    signature: sign(appkey, String(ts), random, o.signSecret || secret, o.upper),
  };
  return Object.assign(p, o.extra || {});
}

// textContent is SDK110's text message object (spec §7.2).
function textContent(from, targetType, targetId, text, extras, across) {
  const c = {
    version: 1,
    target_type: targetType,
    target_id: String(targetId),
    from_platform: 'web',
    from_id: from,
    create_time: Date.now(),
    msg_type: 'text',
    msg_body: { text, extras },
  };
  if (across) {
    c.from_appkey = across.from;
    c.target_appkey = across.target;
  }
  return c;
}

// wire returns what the peer receives for an object sent as JSON.
const wire = (v) => JSON.parse(JSON.stringify(v));

// ---------------------------------------------------------------- Jim: the SDK-like wrapper

class Jim {
  // opts: upper (signature case), tsString (timestamp as a string), appkey,
  // secret, autoAck (msg_recv), echoEvents.
  constructor(label, transport, opts = {}) {
    this.label = label;
    this.transport = transport;
    this.appkey = opts.appkey || cfg.appkey;
    this.secret = opts.secret || cfg.secret;
    this.upper = !!opts.upper;
    this.tsString = !!opts.tsString;
    this.autoAck = opts.autoAck !== false;
    this.echoEvents = opts.echoEvents !== false;
    this.rid = 0; // SDK110: per page, starts at 1, every emit
    this.seq = 0; // arrival order of everything received
    this.pending = new Map();
    this.msgs = [];
    this.events = [];
    this.strays = [];
    this.disconnects = [];
    this.reconnects = 0;
    this.username = null;
    this.uid = null;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const s = io(cfg.url, {
        transports: [this.transport],
        reconnection: true,
        reconnectionDelay: 500,
        reconnectionDelayMax: 1000,
        timeout: 30000,
        'force new connection': true,
        // socket.io 0.9 option names SDK110 also passes; 1.4.5 ignores them.
        'max reconnection attempts': 1,
        'log level': 1,
      });
      this.socket = s;
      const timer = setTimeout(() => reject(new StepError(`${this.label}: no socket.io connect within 10s (${this.transport})`)), 10000);
      s.once('connect', () => {
        clearTimeout(timer);
        const name = s.io.engine && s.io.engine.transport && s.io.engine.transport.name;
        if (name !== this.transport) {
          reject(new StepError(`${this.label}: connected over ${name}, want ${this.transport}`));
          return;
        }
        resolve(this);
      });
      s.on('disconnect', (reason) => {
        this.disconnects.push({ seq: ++this.seq, reason, at: Date.now() });
        // SDK110 would wait for its 30 s timeout; fail the open requests
        // at once instead, so that a dropped connection is reported fast.
        for (const [rid, entry] of this.pending) {
          this.pending.delete(rid);
          entry.lost(reason);
        }
      });
      s.on('reconnect', () => { this.reconnects++; });
      s.on('error', (e) => this.disconnects.push({ seq: ++this.seq, at: Date.now(), reason: 'error: ' + (e && (e.code || e.message) || e) }));
      s.on('ack', (d) => this.onAck(d));
      for (const ev of LISTENED_EVENTS) s.on(ev, (d) => this.onResponse(ev, d));
      s.on('msg_sync', (d) => this.onMsgSync(d));
      s.on('event_notification', (d) => this.onEvent(d));
    });
  }

  close() {
    if (this.socket) this.socket.close();
  }

  // emit sends one event with the next rid, as SDK110 does for every emit.
  emit(event, payload) {
    const body = Object.assign({}, payload, { rid: ++this.rid });
    this.socket.emit(event, body);
    return body;
  }

  // request sends a request and resolves with its response. It checks the
  // model of spec §3: ack {rid} first, then the same-named event with
  // rid, numeric code and string message. gid and target_gid are sent as
  // strings unless raw is set.
  request(event, payload = {}, o = {}) {
    const p = Object.assign({}, payload);
    if (!o.raw) {
      for (const k of ['gid', 'target_gid']) if (k in p && typeof p[k] === 'number') p[k] = String(p[k]);
    }
    const sent = this.emit(event, p);
    const timeout = o.timeout || 5000;
    return new Promise((resolve, reject) => {
      const entry = { event, sent, ack: null, seq: this.seq };
      entry.timer = setTimeout(() => {
        this.pending.delete(sent.rid);
        reject(new StepError(`${this.label}: no ${event} response for rid ${sent.rid} within ${timeout}ms` +
          (entry.ack ? ' (its ack did arrive)' : ' (no ack either)') + this.lostSince(entry.seq), sent, undefined));
      }, timeout);
      entry.lost = (reason) => {
        clearTimeout(entry.timer);
        reject(new StepError(`${this.label}: the socket was disconnected (${reason}) before the ${event} response for rid ${sent.rid}` +
          (entry.ack ? ' (its ack did arrive)' : ' (no ack either)') + this.lostSince(entry.seq), sent, undefined));
      };
      entry.done = (resp, seq) => {
        clearTimeout(entry.timer);
        const bad = (m) => reject(new StepError(`${this.label}: protocol: ${m}`, sent, resp));
        if (!entry.ack) return bad(`${event} response for rid ${sent.rid} arrived without an ack {rid} before it`);
        if (typeof resp !== 'object' || resp === null) return bad(`${event} response is not an object`);
        if (resp.rid !== sent.rid) return bad(`response rid ${J(resp.rid)} != ${sent.rid}`);
        if (typeof resp.code !== 'number') return bad(`response code ${J(resp.code)} is not a number`);
        if (typeof resp.message !== 'string') return bad(`response message ${J(resp.message)} is not a string`);
        Object.defineProperty(resp, '_sent', { value: sent });
        Object.defineProperty(resp, '_event', { value: `${this.label} ${event}` });
        Object.defineProperty(resp, '_seq', { value: seq });
        resolve(resp);
      };
      this.pending.set(sent.rid, entry);
    });
  }

  onAck(d) {
    const seq = ++this.seq;
    const entry = d && this.pending.get(d.rid);
    if (!entry) {
      this.strays.push({ seq, what: 'ack for an unknown rid', data: d });
      return;
    }
    if (entry.ack) {
      this.strays.push({ seq, what: 'second ack', data: d });
      return;
    }
    if (typeof d.rid !== 'number') this.strays.push({ seq, what: 'ack rid is not a number', data: d });
    entry.ack = { seq, data: d };
  }

  onResponse(event, d) {
    const seq = ++this.seq;
    const entry = d && this.pending.get(d.rid);
    if (!entry || entry.event !== event) {
      // SDK110 drops a response whose rid it does not know.
      this.strays.push({ seq, what: `${event} with an unknown rid`, data: d });
      return;
    }
    this.pending.delete(d.rid);
    answered.add(event);
    entry.done(d, seq);
  }

  onMsgSync(d) {
    const seq = ++this.seq;
    const list = d && Array.isArray(d.messages) ? d.messages : [];
    if (!list.length) this.strays.push({ seq, what: 'msg_sync without messages', data: d });
    for (const m of list) this.msgs.push({ seq, env: d, m, used: false });
    if (this.autoAck && list.length) this.ackMessages(list);
  }

  ackMessages(list) {
    return this.emit('msg_recv', {
      messages: list.map((m) => ({ msg_id: m.msg_id, msg_type: m.msg_type, from_uid: m.from_uid, from_gid: m.from_gid })),
    });
  }

  onEvent(d) {
    const seq = ++this.seq;
    this.events.push({ seq, d, used: false });
    if (this.echoEvents && d) {
      this.emit('event_notification', { event_id: d.event_id, event_type: d.event_type, from_uid: d.from_uid, gid: d.gid });
    }
  }

  // lostSince describes the disconnects after arrival number seq.
  lostSince(seq) {
    const d = this.disconnects.filter((x) => x.seq > seq);
    return d.length ? `; meanwhile the socket was disconnected (${d.map((x) => x.reason).join(', ')})` : '';
  }

  async waitFor(kind, pred, what, timeout = 4000) {
    const list = kind === 'msg' ? this.msgs : this.events;
    const deadline = Date.now() + timeout;
    const seq0 = this.seq;
    for (;;) {
      const it = list.find((x) => !x.used && pred(kind === 'msg' ? x.m : x.d, x));
      if (it) {
        it.used = true;
        return it;
      }
      const lost = this.disconnects.find((x) => x.seq > seq0);
      if (Date.now() > deadline || (lost && Date.now() > lost.at + 500)) {
        throw new StepError(`${this.label}: no ${what} ${lost ? '(gave up once the socket was lost)' : 'within ' + timeout + 'ms'}${this.lostSince(seq0)}`, undefined,
          { unconsumed: list.filter((x) => !x.used).map((x) => (kind === 'msg' ? x.env : x.d)) });
      }
      await sleep(10);
    }
  }

  waitMsg(pred, what, timeout) {
    return this.waitFor('msg', pred, what || 'matching msg_sync', timeout);
  }

  waitEvent(type, pred, what, timeout) {
    return this.waitFor('event', (d) => d.event_type === type && (!pred || pred(d)),
      what || `event_notification event_type ${type}`, timeout);
  }

  // noMore checks that nothing matching pred arrives within ms.
  async noMore(kind, pred, what, ms) {
    await sleep(ms);
    const list = kind === 'msg' ? this.msgs : this.events;
    const extra = list.filter((x) => !x.used && pred(kind === 'msg' ? x.m : x.d));
    check(extra.length === 0, `${this.label}: unexpected ${what}`, extra.map((x) => (kind === 'msg' ? x.env : x.d)));
  }

  init(o = {}) {
    return this.request('c_init', authPayload(this.appkey, this.secret,
      Object.assign({ upper: this.upper, tsString: this.tsString }, o)));
  }

  async login(username, password) {
    const resp = await this.request('login', { username, password: md5(password) });
    if (resp.code === 0 && resp.username) this.username = resp.username;
    return resp;
  }

  // open = connect + c_init (must be 0) + login (must contain username).
  async open(username, password) {
    await this.connect();
    expect(await this.init(), 0, 'c_init');
    const resp = expect(await this.login(username, password), 0, 'login');
    check(resp.username === username, `login response must contain username ${username} (SDK110 requires it)`, resp, resp._sent);
    return resp;
  }

  text(targetType, targetId, text, across) {
    return textContent(this.username, targetType, targetId, text, undefined, across);
  }

  sendSingle(target, text, extras) {
    const content = textContent(this.username, 'single', target, text, extras);
    return this.request('s_single_text', { target_name: target, content }).then((r) => Object.assign(r, { _content: content }));
  }

  sendAcross(target, appkey, text) {
    const content = textContent(this.username, 'sigle', target, text, undefined, { from: this.appkey, target: appkey });
    return this.request('s_across_single_text', { target_name: target, appkey, content })
      .then((r) => Object.assign(r, { _content: content }));
  }

  sendGroup(gid, text) {
    const content = textContent(this.username, 'group', gid, text);
    return this.request('send_group_msg', { target_gid: String(gid), content }).then((r) => Object.assign(r, { _content: content }));
  }
}

// ---------------------------------------------------------------- step runner

let failures = 0;
let prefix = '';
// answered collects the request events that got a response, for the
// coverage check at the end of a run.
let answered = new Set();

async function step(name, fn, o = {}) {
  const t0 = Date.now();
  try {
    const note = await fn();
    console.log(`ok   ${prefix}${name} (${Date.now() - t0}ms)${typeof note === 'string' ? ' — ' + note : ''}`);
    return true;
  } catch (e) {
    failures++;
    console.log(`FAIL ${prefix}${name}: ${e && e.message ? e.message : e}`);
    if (e && e.sent !== undefined) console.log(`       sent: ${J(e.sent)}`);
    if (e && e.got !== undefined) console.log(`       got:  ${J(e.got)}`);
    if (!(e instanceof StepError) && e && e.stack) console.log('       ' + e.stack.split('\n').slice(1, 4).join('\n       '));
    if (o.critical) throw new Error(`critical step "${name}" failed; stopping the ${prefix.trim()} run`);
    return false;
  }
}

// checkMsg checks a received message against spec §7.1.
function checkMsg(it, want) {
  const { m, env } = it;
  const now = Date.now();
  const bad = (msg) => { throw new StepError(msg, want.sent, env); };
  if (want.uid !== undefined && env.uid !== want.uid) bad(`msg_sync uid is ${J(env.uid)}, want the receiver's uid ${want.uid}`);
  if (!isID(m.msg_id)) bad(`msg_id ${J(m.msg_id)} is not a positive integer`);
  if (want.msgID !== undefined && m.msg_id !== want.msgID) bad(`msg_id ${m.msg_id} != the sender's response msg_id ${want.msgID}`);
  if (m.msg_type !== want.msgType) bad(`msg_type ${J(m.msg_type)}, want ${want.msgType}`);
  if (m.from_uid !== want.fromUID) bad(`from_uid ${J(m.from_uid)}, want ${want.fromUID}`);
  if (m.from_gid !== want.fromGID) bad(`from_gid ${J(m.from_gid)}, want ${want.fromGID}`);
  if (want.level !== undefined && m.msg_level !== want.level) bad(`msg_level ${J(m.msg_level)}, want ${want.level}`);
  if (typeof m.ctime !== 'number' || Math.abs(m.ctime - now / 1000) > 120) bad(`ctime ${J(m.ctime)} is not the current time in seconds`);
  if (typeof m.ctime_ms !== 'number' || Math.abs(m.ctime_ms - now) > 120000) bad(`ctime_ms ${J(m.ctime_ms)} is not the current time in ms`);
  if (Math.floor(m.ctime_ms / 1000) !== m.ctime) bad(`ctime ${m.ctime} and ctime_ms ${m.ctime_ms} disagree`);
  try {
    assert.deepStrictEqual(m.content, wire(want.content));
  } catch (e) {
    bad(`content differs from what was sent: sent ${J(want.content)}`);
  }
}

// checkEvent checks the v1 event fields of spec §8.1 on a received event.
function checkEvent(it, j, type) {
  const d = it.d;
  const bad = (m) => { throw new StepError(`${j.label}: event ${type}: ${m}`, undefined, d); };
  if (d.uid !== j.uid) bad(`uid ${J(d.uid)} is not the receiver's uid ${j.uid}`);
  if (!isID(d.event_id)) bad('event_id is not a positive integer');
  if (typeof d.gid !== 'number') bad('gid is not a number');
  if (!Array.isArray(d.to_uidlist)) bad('to_uidlist is not an array');
  if (typeof d.from_uid !== 'number') bad('from_uid is not a number');
  if (typeof d.ctime !== 'number' || Math.abs(d.ctime - Date.now() / 1000) > 120) bad(`ctime ${J(d.ctime)} is not the current time in seconds`);
}

function hasUID(list, uid) {
  return Array.isArray(list) && list.includes(uid);
}

// ---------------------------------------------------------------- the scenario

async function scenario(transport, tag) {
  const T = transport;
  const sfx = '_' + (tag ? tag + '_' : '') + (T === 'websocket' ? 'ws' : 'pl') + crypto.randomBytes(2).toString('hex');
  const name = (b) => b + sfx;
  const alice = name('alice');
  const bobby = name('bobby');
  const carol = name('carol');
  const erin = name('erin');
  const ulla = name('ulla');
  const uwe = name('uwe');
  const dave = cfg.acrossUser;
  const pw = (n) => 'pw-' + n;
  const sockets = [];
  const jim = (label, o) => {
    const tr = (o && o.transport) || T;
    const j = new Jim(`${label}[${tr}]`, tr, o);
    sockets.push(j);
    return j;
  };
  const uids = {};
  const ctx = {};
  answered = new Set();

  try {
    // ---- c_init (spec §5, §6.1) on probe sockets
    const p0 = jim('probe0', { upper: true });
    await step('connect (socket.io-client 1.4.5, ' + T + ' only)', () => p0.connect(), { critical: true });
    await step('login before c_init → 882004', async () => {
      expect(await p0.login(alice, pw(alice)), 882004);
      expect(await p0.request('get_groups_list'), 882004, 'business request before c_init');
    });

    const p1 = jim('probe1', { upper: true });
    await p1.connect();
    await step('c_init wrong signature → 880102', async () => {
      expect(await p1.init({ signSecret: 'not-the-master-secret' }), 880102);
    });
    await step('c_init unknown appkey → 880101', async () => {
      const p = authPayload('ffffffffffffffffffffffff', cfg.secret, { upper: true });
      expect(await p1.request('c_init', p), 880101);
    });
    await step('c_init timestamp 11 minutes old → 880106', async () => {
      expect(await p1.init({ timestamp: Date.now() - 11 * 60 * 1000 }), 880106);
    });
    await step('c_init without signature → 880002/882003', async () => {
      const p = authPayload(cfg.appkey, cfg.secret);
      delete p.signature;
      expect(await p1.request('c_init', p), [880002, 882003]);
    });
    let okAuth;
    await step('c_init ok (UPPERCASE signature, numeric timestamp)', async () => {
      okAuth = authPayload(cfg.appkey, cfg.secret, { upper: true });
      check(typeof okAuth.timestamp === 'number', 'test bug: timestamp should be a number');
      expect(await p1.request('c_init', okAuth), 0);
    });
    await step('c_init replay of the same random_str on a new socket → 880102', async () => {
      const p2 = jim('probe2');
      await p2.connect();
      expect(await p2.request('c_init', okAuth), 880102, 'replayed payload');
    });
    await step('c_init twice on one socket → non-zero', async () => {
      expectNonZero(await p1.init({ upper: true }));
    });
    await step('business request after c_init, before login → 882004', async () => {
      expect(await p1.request('get_groups_list'), 882004);
      expect(await p1.request('s_single_text', { target_name: alice, content: textContent('x', 'single', alice, 'hi') }), 882004);
    });

    // ---- register (spec §4.1: its own socket, left open like DEMO-FC)
    const reg = jim('register', { tsString: true });
    await step('register socket: c_init ok (lowercase signature, string timestamp)', async () => {
      await reg.connect();
      const r = expect(await reg.init(), 0);
      check(typeof r._sent.timestamp === 'string' && r._sent.signature === r._sent.signature.toLowerCase(), 'test bug: payload form', r._sent);
    }, { critical: true });
    await step('register ok (alice, bobby, carol, erin, ulla, uwe)', async () => {
      for (const n of [alice, bobby, carol, erin, ulla, uwe]) {
        expect(await reg.request('register', { username: n, password: md5(pw(n)) }), 0, 'register ' + n);
      }
    }, { critical: true });
    await step('register an existing user → 882002', async () => {
      expect(await reg.request('register', { username: alice, password: md5(pw(alice)) }), 882002);
    });

    // ---- login (spec §4.3, §6.1)
    const A = jim('alice', { upper: true });
    await step('alice: c_init (UPPERCASE sig, numeric ts)', async () => {
      await A.connect();
      expect(await A.init(), 0);
    }, { critical: true });
    await step('login wrong password → 880104', async () => {
      expect(await A.login(alice, 'wrong-password'), 880104);
    });
    await step('login unknown user → 880103', async () => {
      expect(await A.login(name('nobody'), 'whatever'), 880103);
    });
    await step('login ok, response contains username', async () => {
      const r = expect(await A.login(alice, pw(alice)), 0);
      check(r.username === alice, 'login response has no username (SDK110 treats that as failure)', r, r._sent);
    }, { critical: true });

    const B = jim('bobby', { tsString: true });
    await step('bobby: c_init (lowercase sig, string ts, an extra key) + login', async () => {
      await B.connect();
      expect(await B.init({ extra: { sdk_extra_key: 'ignored' } }), 0);
      const r = expect(await B.login(bobby, pw(bobby)), 0);
      check(r.username === bobby, 'login response has no username', r, r._sent);
    }, { critical: true });

    const D = jim('dave@app2', { appkey: cfg.appkey2, secret: cfg.secret2, upper: true, tsString: true });
    await step('dave (second app): c_init + login', () => D.open(dave, cfg.acrossPassword), { critical: true });

    // ---- users (spec §6.2)
    await step('get_user_info (key) → user_info of bobby', async () => {
      for (const n of [alice, bobby, carol, erin]) {
        const r = expect(await A.request('get_user_info', { key: n }), 0);
        const u = r.user_info;
        check(u && u.username === n && isID(u.uid), 'user_info missing, or no username/uid', r, r._sent);
        check(u.appkey === cfg.appkey, 'user_info.appkey is not the app', r, r._sent);
        uids[n] = u.uid;
      }
      A.uid = uids[alice];
      B.uid = uids[bobby];
    }, { critical: true });
    await step('get_user_info unknown user → 880103/882002', async () => {
      expect(await A.request('get_user_info', { key: name('nobody') }), [880103, 882002]);
    });
    await step('get_across_user_info (key, appkey) → user of the second app', async () => {
      const r = expect(await A.request('get_across_user_info', { key: dave, appkey: cfg.appkey2 }), 0);
      const u = r.user_info;
      check(u && u.username === dave && u.appkey === cfg.appkey2 && isID(u.uid), 'user_info is not dave of app2', r, r._sent);
      uids[dave] = u.uid;
      D.uid = u.uid;
    }, { critical: true });
    await step('get_across_user_info unknown user → 880103/882002', async () => {
      expect(await A.request('get_across_user_info', { key: name('nobody'), appkey: cfg.appkey2 }), [880103, 882002]);
    });

    // ---- single messages (spec §6.3, §7)
    await step('s_single_text ok; peer gets msg_sync (type 3, from_gid 0, level 0, content as sent)', async () => {
      const r = expect(await A.sendSingle(bobby, 'hello bobby ' + T, { k: 'v', n: 1 }), 0);
      check(isID(r.msg_id), 'msg_id is not a number', r, r._sent);
      const it = await B.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync with msg_id ${r.msg_id}`);
      checkMsg(it, { uid: B.uid, msgID: r.msg_id, msgType: 3, fromUID: A.uid, fromGID: 0, level: 0, content: r._content, sent: r._sent });
    });
    await step('s_single_text in the other direction (lowercase-signature user sends)', async () => {
      const r = expect(await B.sendSingle(alice, 'hi alice ' + T), 0);
      check(isID(r.msg_id), 'msg_id is not a number', r, r._sent);
      const it = await A.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync with msg_id ${r.msg_id}`);
      checkMsg(it, { uid: A.uid, msgID: r.msg_id, msgType: 3, fromUID: B.uid, fromGID: 0, level: 0, content: r._content, sent: r._sent });
    });
    await step('s_single_text unknown target → 880203', async () => {
      expect(await A.sendSingle(name('nobody'), 'x'), 880203);
    });
    await step('s_single_text content over 4096 bytes → 880206', async () => {
      expect(await A.sendSingle(bobby, 'x'.repeat(5000)), 880206);
    });
    await step('s_across_single_text to the second app (target_type "sigle"); msg_level 1', async () => {
      const r = expect(await A.sendAcross(dave, cfg.appkey2, 'hello dave ' + T), 0);
      check(isID(r.msg_id), 'msg_id is not a number', r, r._sent);
      const it = await D.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync with msg_id ${r.msg_id}`);
      checkMsg(it, { uid: D.uid, msgID: r.msg_id, msgType: 3, fromUID: A.uid, fromGID: 0, level: 1, content: r._content, sent: r._sent });
    });
    await step('s_across_single_text back from the second app; msg_level 1', async () => {
      const r = expect(await D.sendAcross(alice, cfg.appkey, 'hello alice from app2 ' + T), 0);
      const it = await A.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync with msg_id ${r.msg_id}`);
      checkMsg(it, { uid: A.uid, msgID: r.msg_id, msgType: 3, fromUID: D.uid, fromGID: 0, level: 1, content: r._content, sent: r._sent });
    });
    await step('s_across_single_text unknown user of the second app → 880203', async () => {
      expect(await A.sendAcross(name('nobody'), cfg.appkey2, 'x'), 880203);
    });

    // ---- offline delivery (spec §7.1, §13.5)
    let C = jim('carol', { upper: false, tsString: false });
    await step('offline delivery: message to an offline user arrives as msg_sync right after login', async () => {
      const r = expect(await A.sendSingle(carol, 'while you were away ' + T), 0);
      await C.connect();
      expect(await C.init(), 0);
      const lr = expect(await C.login(carol, pw(carol)), 0);
      check(lr.username === carol, 'login response has no username', lr, lr._sent);
      const it = await C.waitMsg((m) => m.msg_id === r.msg_id, `offline msg_sync with msg_id ${r.msg_id}`, 3000);
      check(it.seq > lr._seq, 'the offline msg_sync arrived before the login response', it.env);
      checkMsg(it, { uid: uids[carol], msgID: r.msg_id, msgType: 3, fromUID: A.uid, fromGID: 0, level: 0, content: r._content, sent: r._sent });
    });

    // ---- redelivery until msg_recv (spec §7.1)
    if (cfg.redeliverMs > 0) {
      await step(`redelivery: unacknowledged msg_sync and event_notification come again (RedeliverAfter ${cfg.redeliverMs}ms), stop after msg_recv / echo`, async () => {
        C.autoAck = false;
        C.echoEvents = false;
        const r = expect(await B.sendSingle(carol, 'redeliver me ' + T), 0);
        expect(await C.request('add_msg_no_disturb_global', { version: 0, none: '' }), 0);
        const first = await C.waitMsg((m) => m.msg_id === r.msg_id, 'first msg_sync');
        const ev1 = await C.waitEvent(37, null, 'first event 37');
        const wait = cfg.redeliverMs * 3 + 1000;
        const again = await C.waitMsg((m) => m.msg_id === r.msg_id, 'redelivered msg_sync', wait);
        const ev2 = await C.waitEvent(37, (d) => d.event_id === ev1.d.event_id, `redelivered event ${ev1.d.event_id}`, wait);
        assert.deepStrictEqual(again.m, first.m, 'the redelivered message differs from the first delivery');
        assert.deepStrictEqual(ev2.d.event_type, ev1.d.event_type);
        C.ackMessages([again.m]);
        C.emit('event_notification', { event_id: ev2.d.event_id, event_type: ev2.d.event_type, from_uid: ev2.d.from_uid, gid: ev2.d.gid });
        C.autoAck = true;
        C.echoEvents = true;
        // one copy may already have been in flight when the acks went out
        await sleep(300);
        C.msgs.forEach((x) => { if (x.m.msg_id === r.msg_id) x.used = true; });
        C.events.forEach((x) => { if (x.d.event_id === ev1.d.event_id) x.used = true; });
        await Promise.all([
          C.noMore('msg', (m) => m.msg_id === r.msg_id, `redelivery of msg ${r.msg_id} after msg_recv`, cfg.redeliverMs * 2 + 500),
          C.noMore('event', (d) => d.event_id === ev1.d.event_id, `redelivery of event ${ev1.d.event_id} after its echo`, cfg.redeliverMs * 2 + 500),
        ]);
        expect(await C.request('delete_msg_no_disturb_global', { version: 0, none: '' }), 0);
        await C.waitEvent(37);
      });
    } else {
      console.log(`skip ${prefix}redelivery (no --redeliver-ms)`);
    }
    await step('re-login: a message delivered but not acknowledged comes again after the next login', async () => {
      C.autoAck = false;
      const r = expect(await B.sendSingle(carol, 'ack me after re-login ' + T), 0);
      await C.waitMsg((m) => m.msg_id === r.msg_id, 'first delivery');
      C.close(); // no msg_recv
      const C2 = jim('carol2', { upper: true });
      const lr = await C2.open(carol, pw(carol));
      const it = await C2.waitMsg((m) => m.msg_id === r.msg_id, `msg ${r.msg_id} after re-login`, 3000);
      check(it.seq > lr._seq, 'the redelivered msg_sync arrived before the login response', it.env);
      checkMsg(it, { uid: uids[carol], msgID: r.msg_id, msgType: 3, fromUID: B.uid, fromGID: 0, level: 0, content: r._content, sent: r._sent });
      C = C2;
    });

    // ---- groups (spec §6.4, §8)
    const gname = 'conf group ' + T;
    await step('create_group → numeric gid; event 8 to the creator', async () => {
      const r = expect(await A.request('create_group', { group_name: gname, group_description: 'made by conformance.js' }), 0);
      check(isID(r.gid), 'gid is not a number', r, r._sent);
      ctx.gid = r.gid;
      const ev = await A.waitEvent(8, (d) => d.gid === r.gid);
      check(ev.d.from_uid === A.uid && isID(ev.d.event_id), 'event 8: from_uid is not the creator, or event_id is not a number', ev.d);
    }, { critical: true });
    const gid = ctx.gid;
    await step('get_groups_list contains the group', async () => {
      const r = expect(await A.request('get_groups_list'), 0);
      check(Array.isArray(r.group_list) && r.group_list.some((g) => g.gid === gid && g.name === gname),
        `group_list has no {gid:${gid}, name:${J(gname)}}`, r, r._sent);
    });
    await step('get_group_info (gid as a string)', async () => {
      const r = expect(await A.request('get_group_info', { gid }), 0);
      check(typeof r._sent.gid === 'string', 'test bug: gid not sent as a string');
      const g = r.group_info;
      check(g && g.gid === gid && g.name === gname && g.desc === 'made by conformance.js', 'group_info does not describe the group', r, r._sent);
    });
    await step('add_group_member (array of strings) → event 10 to members', async () => {
      expect(await A.request('add_group_member', { gid, member_usernames: [bobby] }), 0);
      for (const j of [A, B]) {
        const ev = await j.waitEvent(10, (d) => d.gid === gid && hasUID(d.to_uidlist, B.uid));
        check(ev.d.from_uid === A.uid, `${j.label}: event 10 from_uid is not the adder`, ev.d);
        checkEvent(ev, j, 10);
      }
    });
    await step('add_group_member of a member again → 880607', async () => {
      expect(await A.request('add_group_member', { gid, member_usernames: [bobby] }), 880607);
    });
    await step('add_group_member unknown user → 881002', async () => {
      expect(await A.request('add_group_member', { gid, member_usernames: [name('nobody')] }), 881002);
    });
    await step('add_across_group_member ([{username, appkey}]) → event 10 incl. the new member', async () => {
      expect(await A.request('add_across_group_member', { gid, member_usernames: [{ username: dave, appkey: cfg.appkey2 }] }), 0);
      for (const j of [A, B, D]) await j.waitEvent(10, (d) => d.gid === gid && hasUID(d.to_uidlist, D.uid));
    });
    await step('get_group_members: owner flag 1, members flag 0', async () => {
      const r = expect(await A.request('get_group_members', { gid }), 0);
      const l = r.member_list;
      check(Array.isArray(l) && l.length === 3, 'member_list should have 3 members', r, r._sent);
      const by = (n) => l.find((m) => m.username === n);
      check(by(alice) && by(alice).flag === 1, 'the owner does not have flag 1', r, r._sent);
      check(by(bobby) && by(bobby).flag === 0, 'a member does not have flag 0', r, r._sent);
      check(by(dave) && by(dave).flag === 0 && by(dave).appkey === cfg.appkey2, 'the cross-app member is missing or has no appkey', r, r._sent);
    });
    await step('send_group_msg → members get msg_type 4 with from_gid', async () => {
      const r = expect(await A.sendGroup(gid, 'hello group ' + T), 0);
      check(isID(r.msg_id), 'msg_id is not a number', r, r._sent);
      for (const j of [B, D]) {
        const it = await j.waitMsg((m) => m.msg_id === r.msg_id, `${j.label} group msg_sync ${r.msg_id}`);
        checkMsg(it, { uid: j.uid, msgID: r.msg_id, msgType: 4, fromUID: A.uid, fromGID: gid, level: 0, content: r._content, sent: r._sent });
      }
    });
    await step('send_group_msg by a non-member → 880205', async () => {
      expect(await C.sendGroup(gid, 'let me in'), 880205);
    });
    await step('get_group_members by a non-member → 880205', async () => {
      expect(await C.request('get_group_members', { gid }), 880205);
    });
    await step('unknown gid → 880204 (get_group_info, send_group_msg, exit_group)', async () => {
      expect(await A.request('get_group_info', { gid: 987654321 }), 880204);
      expect(await A.sendGroup(987654321, 'nobody home'), 880204);
      expect(await A.request('exit_group', { gid: 987654321 }), 880204);
    });
    await step('update_group_info by the owner → event 12 to members', async () => {
      expect(await A.request('update_group_info', { gid, group_name: gname + ' v2', group_description: 'renamed' }), 0);
      for (const j of [A, B, D]) {
        const ev = await j.waitEvent(12, (d) => d.gid === gid);
        check(ev.d.from_uid === A.uid, `${j.label}: event 12 from_uid is not the modifier`, ev.d);
      }
      const r = expect(await B.request('get_group_info', { gid }), 0);
      check(r.group_info && r.group_info.name === gname + ' v2' && r.group_info.desc === 'renamed', 'group_info was not updated', r, r._sent);
    });
    await step('update_group_info by a non-owner → 881701', async () => {
      expect(await B.request('update_group_info', { gid, group_name: 'hijack', group_description: '' }), 881701);
    });
    await step('del_group_member by a non-owner → 880704', async () => {
      expect(await B.request('del_group_member', { gid, member_usernames: [alice] }), 880704);
    });
    await step('del_group_member by the owner → event 11 (incl. the removed member)', async () => {
      expect(await A.request('del_group_member', { gid, member_usernames: [bobby] }), 0);
      for (const j of [A, B, D]) {
        const ev = await j.waitEvent(11, (d) => d.gid === gid && hasUID(d.to_uidlist, B.uid));
        check(ev.d.from_uid === A.uid, `${j.label}: event 11 from_uid is not the owner`, ev.d);
      }
      const r = expect(await B.request('get_groups_list'), 0);
      check(!r.group_list.some((g) => g.gid === gid), 'the removed member still lists the group', r, r._sent);
    });
    await step('exit_group → event 9 to members incl. the leaver', async () => {
      const r = expect(await D.request('exit_group', { gid }), 0);
      for (const j of [A, D]) {
        const ev = await j.waitEvent(9, (d) => d.gid === gid);
        check(ev.d.from_uid === D.uid, `${j.label}: event 9 from_uid is not the leaver`, ev.d);
      }
      const m = expect(await A.request('get_group_members', { gid }), 0);
      check(m.member_list.length === 1 && m.member_list[0].username === alice, 'members after exit should be just the owner', m, r._sent);
    });
    await step('del_across_group_member ([{username, appkey}]) by the owner → event 11', async () => {
      expect(await A.request('add_across_group_member', { gid, member_usernames: [{ username: dave, appkey: cfg.appkey2 }] }), 0);
      for (const j of [A, D]) await j.waitEvent(10, (d) => d.gid === gid && hasUID(d.to_uidlist, D.uid));
      expect(await A.request('del_across_group_member', { gid, member_usernames: [{ username: dave, appkey: cfg.appkey2 }] }), 0);
      for (const j of [A, D]) {
        const ev = await j.waitEvent(11, (d) => d.gid === gid && hasUID(d.to_uidlist, D.uid));
        checkEvent(ev, j, 11);
      }
      const r = expect(await D.request('get_groups_list'), 0);
      check(!r.group_list.some((g) => g.gid === gid), 'the removed cross-app member still lists the group', r, r._sent);
    });
    await step('exit_group when not a member → 880502/880205', async () => {
      expect(await B.request('exit_group', { gid }), [880502, 880205]);
    });

    // ---- conversations (spec §6.5)
    await step('get_conversations lists the single and the group conversations', async () => {
      const r = expect(await A.request('get_conversations'), 0);
      const l = r.conversations;
      check(Array.isArray(l), 'conversations is not an array', r, r._sent);
      check(l.some((c) => c.type === 3 && c.username === bobby), `no single conversation (type 3) with ${bobby}`, r, r._sent);
      check(l.some((c) => c.type === 3 && c.username === carol), `no single conversation (type 3) with ${carol}`, r, r._sent);
      check(l.some((c) => c.type === 4 && String(c.key) === String(gid)), `no group conversation (type 4) with key ${gid}`, r, r._sent);
    });

    // ---- media (spec §6.5, §6.6)
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    await step('get_upload_token → uptoken; POST /resource?type=image; GET /media/<id>', async () => {
      const r = expect(await A.request('get_upload_token'), 0);
      check(typeof r.uptoken === 'string' && r.uptoken.length > 0, 'no uptoken', r, r._sent);
      const fd = new FormData();
      fd.append('file', new Blob([png], { type: 'image/png' }), 'pixel.png');
      const res = await fetch(cfg.url + '/resource?type=image', {
        method: 'POST',
        headers: { 'X-App-Key': cfg.appkey, Authorization: 'Basic ' + Buffer.from(`${alice}:${r.uptoken}`).toString('base64') },
        body: fd,
      });
      const body = await res.text();
      check(res.status === 200, `upload: HTTP ${res.status}`, body);
      const media = JSON.parse(body);
      check(typeof media.media_id === 'string' && media.media_id.length > 0, 'upload: no media_id', media);
      check(media.width === 1 && media.height === 1 && media.format === 'png' && media.fsize === png.length,
        `upload: want width 1, height 1, format png, fsize ${png.length}`, media);
      ctx.media = media;
      const got = await fetch(cfg.url + '/media/' + media.media_id);
      const bytes = Buffer.from(await got.arrayBuffer());
      check(got.status === 200 && bytes.equals(png), `GET /media/${media.media_id}: HTTP ${got.status}, ${bytes.length} bytes, want the ${png.length} uploaded bytes`, bytes.toString('base64'));
    });
    await step('upload with a wrong uptoken is refused', async () => {
      const fd = new FormData();
      fd.append('file', new Blob([png], { type: 'image/png' }), 'pixel.png');
      const res = await fetch(cfg.url + '/resource?type=image', {
        method: 'POST',
        headers: { 'X-App-Key': cfg.appkey, Authorization: 'Basic ' + Buffer.from(`${alice}:not-a-token`).toString('base64') },
        body: fd,
      });
      await res.text();
      check(res.status >= 400, `HTTP ${res.status}, want an error status`);
    });
    await step('image message (SDK110 sendSinglePic: s_across_single_text, own appkey) relayed as sent', async () => {
      check(ctx.media, 'no upload from the previous step');
      const m = ctx.media;
      const content = {
        version: 1, target_type: 'sigle', target_id: bobby, from_platform: 'web', from_id: alice,
        create_time: Date.now(), msg_type: 'image',
        msg_body: { media_id: m.media_id, media_crc32: m.media_crc32, width: m.width, height: m.height, format: m.format, fsize: m.fsize },
        from_appkey: cfg.appkey, target_appkey: cfg.appkey,
      };
      const r = expect(await A.request('s_across_single_text', { target_name: bobby, appkey: cfg.appkey, content }), 0);
      const it = await B.waitMsg((x) => x.msg_id === r.msg_id, `image msg_sync ${r.msg_id}`);
      checkMsg(it, { uid: B.uid, msgID: r.msg_id, msgType: 3, fromUID: A.uid, fromGID: 0, content, sent: r._sent });
      return `msg_level ${it.m.msg_level} (same app)`;
    });

    // ---- no-disturb (spec §6.5); event 37 to the user (spec §8.3)
    const nd = async (event, payload, code) => {
      const r = expect(await A.request(event, Object.assign({ version: 0 }, payload)), code);
      if (code === 0) await A.waitEvent(37, null, `event 37 after ${event}`);
      return r;
    };
    await step('no_disturb {version:0} → empty setting', async () => {
      const r = expect(await A.request('no_disturb', { version: 0 }), 0);
      const n = r.no_disturb;
      check(n && n.global === 0 && Array.isArray(n.users) && n.users.length === 0 && Array.isArray(n.groups) && n.groups.length === 0,
        'want no_disturb {global:0, users:[], groups:[]}', r, r._sent);
    });
    await step('no-disturb single: add ok, add again → 881101, delete ok, delete again → 881102', async () => {
      await nd('add_msg_no_disturb_single', { target_name: bobby }, 0);
      await nd('add_msg_no_disturb_single', { target_name: bobby }, 881101);
      const r = expect(await A.request('no_disturb', { version: 0 }), 0);
      check(r.no_disturb.users.some((u) => u.username === bobby), 'no_disturb.users lacks bobby', r, r._sent);
      await nd('delete_msg_no_disturb_single', { target_name: bobby }, 0);
      await nd('delete_msg_no_disturb_single', { target_name: bobby }, 881102);
      await nd('add_msg_no_disturb_single', { target_name: name('nobody') }, 880203);
    });
    await step('no-disturb group: add ok, again → 881105, delete ok, again → 881106, unknown group → 881103', async () => {
      await nd('add_msg_no_disturb_group', { gid }, 0);
      await nd('add_msg_no_disturb_group', { gid }, 881105);
      const r = expect(await A.request('no_disturb', { version: 0 }), 0);
      check(r.no_disturb.groups.some((g) => g.gid === gid), 'no_disturb.groups lacks the group', r, r._sent);
      await nd('delete_msg_no_disturb_group', { gid }, 0);
      await nd('delete_msg_no_disturb_group', { gid }, 881106);
      await nd('add_msg_no_disturb_group', { gid: 987654321 }, 881103);
    });
    await step("no-disturb global (none:''): add ok, again → 881107, delete ok, again → 881108", async () => {
      await nd('add_msg_no_disturb_global', { none: '' }, 0);
      await nd('add_msg_no_disturb_global', { none: '' }, 881107);
      const r = expect(await A.request('no_disturb', { version: 0 }), 0);
      check(r.no_disturb.global === 1, 'no_disturb.global is not 1', r, r._sent);
      await nd('delete_msg_no_disturb_global', { none: '' }, 0);
      await nd('delete_msg_no_disturb_global', { none: '' }, 881108);
    });

    // ---- blacklist (spec §6.5); event 38
    await step('get_black_list empty; add_black_list [{username,appkey}] → event 38, listed', async () => {
      let r = expect(await B.request('get_black_list'), 0);
      check(Array.isArray(r.black_list) && r.black_list.length === 0, 'black_list should be []', r, r._sent);
      expect(await B.request('add_black_list', { member_usernames: [{ username: alice, appkey: cfg.appkey }] }), 0);
      await B.waitEvent(38);
      r = expect(await B.request('get_black_list'), 0);
      check(r.black_list.some((u) => u.username === alice), 'black_list lacks alice', r, r._sent);
    });
    await step('blacklisted sender: s_single_text → 880207', async () => {
      expect(await A.sendSingle(bobby, 'can you hear me'), 880207);
    });
    await step('del_black_list → event 38; sending works again', async () => {
      expect(await B.request('del_black_list', { member_usernames: [{ username: alice, appkey: cfg.appkey }] }), 0);
      await B.waitEvent(38);
      const l = expect(await B.request('get_black_list'), 0);
      check(l.black_list.length === 0, 'black_list should be empty again', l, l._sent);
      const r = expect(await A.sendSingle(bobby, 'back again ' + T), 0);
      await B.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync ${r.msg_id}`);
    });
    await step('add_black_list unknown user → 880203', async () => {
      expect(await B.request('add_black_list', { member_usernames: [{ username: name('nobody'), appkey: cfg.appkey }] }), 880203);
    });

    // ---- malformed payloads
    const E = jim('erin');
    await step('login with username as a number → 880002; the socket stays usable', async () => {
      await E.connect();
      expect(await E.init(), 0);
      expect(await E.request('login', { username: 12345, password: md5('x') }), 880002);
      const r = expect(await E.login(erin, pw(erin)), 0);
      check(r.username === erin, 'login response has no username', r, r._sent);
    });
    await step('get_group_info with gid "abc" → 880002', async () => {
      expect(await E.request('get_group_info', { gid: 'abc' }), 880002);
    });
    await step('get_group_info without gid → non-zero', async () => {
      expectNonZero(await E.request('get_group_info', {}));
    });
    await step('v2-only event sync_check → response with a non-zero code', async () => {
      expectNonZero(await E.request('sync_check', {}));
    });
    await step('send_group_msg without content → non-zero', async () => {
      expectNonZero(await A.request('send_group_msg', { target_gid: gid }));
    });
    await step('s_single_text with content as a string → non-zero', async () => {
      expectNonZero(await E.request('s_single_text', { target_name: bobby, content: 'just text' }));
    });
    await step('unknown event name is ignored; the next request on the socket is answered', async () => {
      E.emit('no_such_event', { x: 1 });
      expect(await E.request('get_groups_list'), 0);
    });
    await step('after the malformed payloads a new socket still works (c_init, login, request)', async () => {
      const F = jim('erin2');
      ctx.F = F;
      await F.connect();
      expect(await F.init(), 0);
      // spec §9.3: the md5 password is compared case-insensitively
      const lr = expect(await F.request('login', { username: erin, password: md5(pw(erin)).toUpperCase() }), 0, 'UPPERCASE md5 password');
      check(lr.username === erin, 'login response has no username', lr, lr._sent);
      expect(await F.request('get_user_info', { key: alice }), 0);
      await E.waitEvent(1, null, 'kick of the first erin socket');
    });

    // ---- second login of the same user (spec §4.7, §8.2)
    await step('second login: old socket gets event_notification type 1 (echoed); new socket works', async () => {
      const A2 = jim('alice2', { upper: false, tsString: true });
      await A2.open(alice, pw(alice));
      const ev = await A.waitEvent(1, null, 'kick event (type 1)');
      check(isID(ev.d.event_id), 'kick event has no numeric event_id', ev.d);
      const echo = { event_id: ev.d.event_id, event_type: 1, from_uid: ev.d.from_uid, gid: ev.d.gid };
      const r = expect(await A2.request('get_groups_list'), 0);
      check(r.group_list.some((g) => g.gid === gid), 'the new session does not list the group', r, r._sent);
      const m = expect(await B.sendSingle(alice, 'to the new session ' + T), 0);
      await A2.waitMsg((x) => x.msg_id === m.msg_id, 'message on the new session');
      ctx.A2 = A2;
      return `echoed ${J(echo)}`;
    });
    await step('kicked socket: if socket.io reconnects it (SDK110 does not redo c_init), requests → 882004', async () => {
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && !(A.reconnects > 0 && A.socket.connected) && A.disconnects.length === 0) await sleep(20);
      if (A.disconnects.length === 0) return 'server did not close the kicked socket (allowed: §13.7)';
      while (Date.now() < deadline && !(A.reconnects > 0 && A.socket.connected)) await sleep(20);
      if (!(A.reconnects > 0 && A.socket.connected)) return `closed (${A.disconnects[0].reason}), no reconnect`;
      expect(await A.request('get_groups_list'), 882004, 'reconnected session without c_init');
      expect(await A.request('c_init', authPayload(cfg.appkey, cfg.secret, { upper: true })), 0);
      expect(await A.request('get_groups_list'), 882004, 'reconnected session without login');
      return `closed (${A.disconnects[0].reason}), reconnected, uninitialised session refused`;
    });

    // ---- non-ASCII text (Chinese is the common case for JMessage). Own
    // sockets, so that a transport failure here cannot spoil other steps;
    // the peer uses websocket so each direction is tested on its own.
    const ulla_ = { text: '你好，世界 🚀👍🏽 café \u2028 "quoted" \\ back\\slash ' + T, extras: { zh: '中文', emoji: '😀' } };
    await step(`non-ASCII in a request over ${T}: s_single_text and create_group accepted, relayed exactly`, async () => {
      const U = jim('ulla', { tsString: true });
      const W = jim('uwe', { transport: 'websocket' });
      await U.open(ulla, pw(ulla));
      await W.open(uwe, pw(uwe));
      W.uid = (expect(await W.request('get_user_info', { key: uwe }), 0)).user_info.uid;
      U.uid = (expect(await W.request('get_user_info', { key: ulla }), 0)).user_info.uid;
      const r = expect(await U.sendSingle(uwe, ulla_.text, ulla_.extras), 0);
      const it = await W.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync with msg_id ${r.msg_id}`);
      checkMsg(it, { uid: W.uid, msgID: r.msg_id, msgType: 3, fromUID: U.uid, fromGID: 0, level: 0, content: r._content, sent: r._sent });
      const g = expect(await U.request('create_group', { group_name: '会议 🚀 ' + T, group_description: '描述' }), 0);
      const info = expect(await U.request('get_group_info', { gid: g.gid }), 0);
      check(info.group_info && info.group_info.name === '会议 🚀 ' + T && info.group_info.desc === '描述', 'group_info name/desc differ from what was sent', info, info._sent);
    });
    await step(`non-ASCII in a push over ${T}: msg_sync sent from a websocket peer arrives exactly`, async () => {
      const U = jim('uwe', { upper: true });
      const W = jim('ulla', { tsString: true, transport: 'websocket' });
      await W.open(ulla, pw(ulla));
      await U.open(uwe, pw(uwe));
      const r = expect(await W.sendSingle(uwe, ulla_.text, ulla_.extras), 0);
      const it = await U.waitMsg((m) => m.msg_id === r.msg_id, `msg_sync with msg_id ${r.msg_id}`);
      checkMsg(it, { msgID: r.msg_id, msgType: 3, fromUID: it.m.from_uid, fromGID: 0, level: 0, content: r._content, sent: r._sent });
    });

    await step('logout (defined, never sent by SDK110) is answered; later business requests → 882004', async () => {
      const r = await ctx.F.request('logout', {});
      if (r.code !== 0) return `logout answered with code ${r.code}`;
      expect(await ctx.F.request('get_groups_list'), 882004, 'after logout');
    });
    await step('every request event of spec §6 was sent and answered (ack, then response)', async () => {
      const missing = REQUEST_EVENTS.filter((e) => !answered.has(e));
      check(missing.length === 0, `never answered: ${missing.join(', ')}`);
    });

    // ---- wrap up: every push acknowledged, no stray frames
    await step('drain: pushes acknowledged; long-lived sockets never dropped; no ack/response with an unknown rid', async () => {
      const live = [ctx.A2, B, C, D].filter(Boolean);
      for (let i = 0; i < 2; i++) for (const j of live) expect(await j.request('get_groups_list'), 0);
      for (const j of [B, C, D]) {
        check(j.disconnects.length === 0, `${j.label} lost its connection during the run (heartbeat?)`, j.disconnects);
      }
      const strays = sockets.flatMap((j) => j.strays.map((s) => Object.assign({ socket: j.label }, s)));
      check(strays.length === 0, `${strays.length} stray frame(s)`, strays);
    });
  } catch (e) {
    console.log(`FAIL ${prefix}${e.message}`);
    failures++;
  } finally {
    for (const j of sockets) j.close();
  }
  const users = [alice, bobby, carol, erin, ulla, uwe].map((u) => ({ appkey: cfg.appkey, username: u }));
  users.push({ appkey: cfg.appkey2, username: dave });
  return users;
}

// ---------------------------------------------------------------- main

async function main() {
  const watchdog = setTimeout(() => {
    console.log(`FAIL conformance.js did not finish within ${cfg.timeoutMs}ms`);
    process.exit(3);
  }, cfg.timeoutMs);
  process.on('unhandledRejection', (e) => {
    console.log(`FAIL unhandled rejection: ${e && e.stack ? e.stack : e}`);
    process.exit(4);
  });

  // The helper must reproduce the test vector of spec §5.
  const v = sign('4f7aef34fb361292c566a1cd', '1467967210887', '022cd9fd995849b58b3ef0e943421ed9', '0123456789abcdef01234567');
  if (v !== '200cf9d77570fe3303658090d886322e') {
    console.log(`FAIL signature helper: spec §5 test vector gives ${v}`);
    process.exit(1);
  }
  console.log(`socket.io-client ${require('socket.io-client/package.json').version}, ` +
    `engine.io-client ${require('engine.io-client/package.json').version}, node ${process.version}, server ${cfg.url}`);

  const users = [];
  for (const t of transports) {
    prefix = `[${t}] `;
    const t0 = Date.now();
    const before = failures;
    users.push(...await scenario(t, cfg.tag));
    console.log(`${failures === before ? 'PASS' : 'FAIL'} [${t}] ${failures - before} failed step(s), ${Date.now() - t0}ms`);
  }
  console.log('USERS ' + JSON.stringify(users));
  clearTimeout(watchdog);
  // socket.io-client keeps timers for closed managers; exit explicitly.
  setTimeout(() => process.exit(failures ? 1 : 0), 50);
}

main();
