// fake-socket.js: a stand-in for the browser's WebSocket that records what
// chatbox.js sends and lets a test play the server. Importing it installs
// it (and the location chatbox.js reads) as globals.

export class FakeSocket {
  static OPEN = 1;
  static all = [];
  constructor(url, protocol) {
    this.url = url;
    this.protocol = protocol;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
    queueMicrotask(() => { this.readyState = 1; this.onopen?.(); });
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code = 1000) { this.readyState = 3; this.closed = code; }
  // serve delivers one WebSocket message holding the frames, one a line.
  serve(...frames) { this.onmessage?.({ data: frames.map((f) => JSON.stringify(f)).join("\n") }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code, reason: "" }); }
  last(type) { return [...this.sent].reverse().find((f) => f.type === type); }
}

globalThis.location = { href: "http://chat.example/page" };
globalThis.WebSocket = FakeSocket;

export const tick = () => new Promise((r) => setTimeout(r, 0));
