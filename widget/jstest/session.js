// A client connected to a FakeSocket and a conversation opened on it, as the
// file and attachment tests start; and the two files they send.
import { FakeSocket, tick } from "./fake-socket.js";

// connect makes a client of ChatboxClient with a token and fast reconnects
// (options on top), and answers its hello with ready.
export async function connect(ChatboxClient, options = {}) {
  const client = new ChatboxClient({ url: "/chat/ws", token: "tok", reconnectMinMs: 5, reconnectMaxMs: 10, ...options });
  client.connect();
  await tick();
  const ws = FakeSocket.all.at(-1);
  ws.serve({ type: "ready", id: ws.last("hello").id, user: { id: "u1" }, models: [], limits: { max_text_bytes: 100 } });
  return { client, ws };
}

// openNew opens a new conversation on client, answered as id.
export async function openNew(client, ws, id = "c1") {
  const p = client.open({ title: "t" });
  await tick();
  ws.serve({ type: "opened", id: ws.last("open").id, conversation_id: id, conversation: { id, status: "active" }, messages: [], last_seq: 10 });
  return p;
}

export const pdf = () => new File(["%PDF-1.4 ..."], "inv oice?.pdf", { type: "application/pdf" });
export const png = () => new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "image.png", { type: "image/png" });
