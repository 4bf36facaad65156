// Everything the page observed, in order, for people (the panes) and for the browser test (window.sseDemo):
// `log` holds what the EventSource reported — {kind: 'open'}, {kind: 'error'}, {kind: 'message', data, id},
// {kind: 'named', name, data} —, `quiet` what the quiet stream's `resumed` listener got, and `wire` what
// the plain fetch of a second stream saw.
const demo = window.sseDemo = { log: [], quiet: [], wire: { header: null, pings: 0 } };
const show = (pane, text, cls) => {
  const line = document.createElement('div');
  line.textContent = text;
  if (cls) line.className = cls;
  const box = document.getElementById(pane);
  box.prepend(line);
  while (box.childElementCount > 200) box.lastElementChild.remove();
};
const time = () => new Date().toLocaleTimeString() + '  ';
const set = (id, value) => { document.getElementById(id).textContent = value; };

const query = new URLSearchParams(location.search);
const url = '/events' + (query.has('close_after') ? '?close_after=' + encodeURIComponent(query.get('close_after')) : '');

const source = new EventSource(url);
let opens = 0, messages = 0;
source.onopen = () => {
  demo.log.push({ kind: 'open' });
  set('opens', ++opens); set('state', 'open');
  show('log', time() + 'connected', 'state');
};
source.onerror = () => {
  demo.log.push({ kind: 'error' });
  set('state', 'reconnecting');
  show('log', time() + 'stream closed; the browser reconnects', 'state');
};
source.onmessage = (e) => {
  demo.log.push({ kind: 'message', data: e.data, id: e.lastEventId });
  set('messages', ++messages); set('last-id', e.lastEventId || '–');
  show('log', time() + e.data);
};
for (const name of ['welcome', 'resumed', 'stale']) {
  source.addEventListener(name, (e) => {
    demo.log.push({ kind: 'named', name, data: e.data });
    show('log', time() + name + ': ' + e.data, 'named');
  });
}

// A stream that is sent nothing but the server's cursor (`id:` without data) and is closed every second:
// the browser still sends that cursor back as Last-Event-ID, and the `resumed` event echoes it.
if (query.has('close_after')) {
  const quiet = new EventSource('/quiet');
  quiet.addEventListener('resumed', (e) => {
    demo.quiet.push(e.data);
    show('log', time() + 'quiet stream resumed from ' + e.data, 'state');
  });
}

// The wire tap. An EventSource hides two things this page wants to show: comments (the pings) and the
// response headers. A plain same-origin fetch of the same endpoint exposes both — every response header
// is readable there, CORS exposure only matters across origins. It asks for a stream that stays open
// (no close_after), so it keeps counting pings while the EventSource above reconnects.
(async () => {
  const response = await fetch('/events');
  demo.wire.header = response.headers.get('X-Sisk-Demo');
  set('header', demo.wire.header ?? 'absent');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '', frame = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = (pending + value).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (line === ': ping') set('pings', ++demo.wire.pings);
      if (line !== '') { frame.push(line); continue; }
      // A blank line ends a frame: show it whole, newest on top like the other pane.
      if (frame.length) {
        const kind = frame[0].startsWith(':') ? 'comment' : frame.some((l) => l.startsWith('event:')) ? 'named' : '';
        show('wire', frame.join('\n'), kind);
      }
      frame = [];
    }
  }
  show('wire', '(the stream ended)', 'state');
})();
