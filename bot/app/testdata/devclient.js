// A client of `jimbot dev` written against socket.io-client 1.4.5, the
// way the JMessage Web SDK v1 uses it: it logs in as a demo user, sends
// /ping in the demo group and expects pong, then /help and expects the
// command list. Usage: node devclient.js http://127.0.0.1:9090
'use strict';
const io = require('socket.io-client');
const crypto = require('crypto');
const url = process.argv[2];
const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
const fail = (msg) => { console.error('FAIL ' + msg); process.exit(1); };
setTimeout(() => fail('timed out'), 20000).unref();

(async () => {
  const cfg = await (await fetch(url + '/dev/config')).json();
  const auth = await (await fetch(url + '/dev/auth')).json();
  const gid = String(cfg.groups[0].gid);
  const user = cfg.users[0];
  const socket = io(url, { transports: ['websocket'], reconnection: true, 'force new connection': true });
  let rid = 0;
  const waiting = {};
  const request = (event, payload) => new Promise((resolve) => {
    const id = ++rid;
    waiting[id] = resolve;
    socket.emit(event, Object.assign({}, payload, { rid: id }));
  });
  const names = ['c_init', 'login', 'send_group_msg', 's_single_text'];
  for (const n of names) socket.on(n, (d) => { const w = waiting[d.rid]; delete waiting[d.rid]; if (w) w(d); });
  const inbox = [];
  let notify = null;
  socket.on('msg_sync', (d) => {
    socket.emit('msg_recv', { messages: d.messages.map((m) => ({ msg_id: m.msg_id, msg_type: m.msg_type, from_uid: m.from_uid, from_gid: m.from_gid })), rid: ++rid });
    for (const m of d.messages) inbox.push(m);
    if (notify) notify();
  });
  socket.on('event_notification', (e) => socket.emit('event_notification', { event_id: e.event_id, event_type: e.event_type, from_uid: e.from_uid, gid: e.gid, rid: ++rid }));
  await new Promise((r) => socket.on('connect', r));
  let resp = await request('c_init', auth);
  if (resp.code !== 0) fail('c_init: ' + JSON.stringify(resp));
  resp = await request('login', { username: user.name, password: md5(user.password) });
  if (resp.code !== 0 || resp.username !== user.name) fail('login: ' + JSON.stringify(resp));
  console.log('ok logged in as ' + user.name);

  const nextFromBot = (pred) => new Promise((resolve) => {
    const check = () => {
      const i = inbox.findIndex((m) => m.content.from_id === cfg.bot && pred(m));
      if (i >= 0) { notify = null; resolve(inbox.splice(i, 1)[0]); }
    };
    notify = check;
    check();
  });
  const say = async (text) => {
    const r = await request('send_group_msg', { target_gid: gid, content: {
      version: 1, target_type: 'group', target_id: gid, from_platform: 'web', from_id: user.name,
      create_time: Date.now(), msg_type: 'text', msg_body: { text } } });
    if (r.code !== 0) fail('send ' + text + ': ' + JSON.stringify(r));
  };
  await say('/ping');
  const pong = await nextFromBot((m) => String(m.from_gid) === gid);
  if (pong.content.msg_body.text !== 'pong') fail('want pong, got ' + pong.content.msg_body.text);
  console.log('ok /ping → pong');
  await say('/help');
  const help = await nextFromBot((m) => m.content.msg_body.text.startsWith('Commands:'));
  for (const cmd of ['/ping', '/help', '/echo', '/plugin', '/why']) {
    if (!help.content.msg_body.text.includes(cmd)) fail('/help lacks ' + cmd + ':\n' + help.content.msg_body.text);
  }
  console.log('ok /help lists the commands');
  socket.close();
  process.exit(0);
})().catch((e) => fail(e.stack || String(e)));
