// usage.ts: a page using chatbox.js as its README shows, checked against
// chatbox.d.ts by the TypeScript compiler (tsc --noEmit). A wrong type in
// the declarations, or a declaration missing, fails the check.
import { ChatboxClient, ChatboxError, type Message, type ConnectionState, type ToolCall, type Part, type UploadedFile, type FileHandle } from "../../static/chatbox.js";

const chat = new ChatboxClient({ url: "/chat/ws", getToken: () => fetch("/chat-token").then((r) => r.json()).then((b: { token: string }) => b.token) });
chat.addEventListener("statechange", (e) => {
  const s: ConnectionState = e.detail.state;
  const wait: number | undefined = e.detail.retryInMs;
  console.log(s, wait);
});
chat.addEventListener("message", (e) => {
  const m: Message = e.detail.message;
  if (m.status === "complete" && m.finishReason === "error") console.log(m.error?.code);
});
chat.addEventListener("message", (e) => {
  for (const part of e.detail.message.parts) {
    if (part.kind === "tool") console.log(part.call.name, part.call.status, part.call.arguments, part.call.result);
    else if (part.kind === "file") console.log(part.file.name, part.file.mediaType);
    else console.log(part.kind, part.text.length);
  }
  const call: ToolCall | undefined = e.detail.message.calls.get("call_01");
  if (call?.answer?.state === "failed") console.log(call.answer.error?.code);
});
chat.addEventListener("approval", async (e) => {
  const { conversation, message, call } = e.detail;
  if (call.status === "awaiting_approval" && confirm(`Run ${call.name}?`)) {
    await chat.approve(conversation.id, message.id, call.id, true).catch((err: ChatboxError) => console.log(err.code));
  }
  const waiting: number = chat.pendingApprovals(conversation.id).length;
  const part: Part = message.parts[0];
  console.log(waiting, part.kind);
});
chat.addEventListener("mode", (e) => { if (e.detail.mode === "operator") console.log(e.detail.operator?.name); });
chat.addEventListener("error", (e) => {
  const err: ChatboxError = e.detail.error;
  console.log(err.code, err.retryable, err.retryAfterMs, err.ref);
});
chat.addEventListener("ready", async (e) => {
  console.log(e.detail.models.map((m) => m.id), e.detail.defaultModel);
  const conv = await chat.open({ title: "Order 1234" });
  const sent: Message = chat.send(conv.id, "Where is my parcel?");
  console.log(sent.id, conv.mode, conv.messages.size);
  const page = await chat.list({ limit: 10 });
  console.log(page.conversations[0]?.title, page.cursor);
  await chat.stop(conv.id);
  await chat.takeover(conv.id, { force: true });

  const input = document.querySelector("input[type=file]") as HTMLInputElement;
  try {
    const f: UploadedFile = await chat.upload(conv.id, input.files![0], { onProgress: ({ loaded, total }) => console.log(loaded / total) });
    chat.send(conv.id, "", { attachments: [f, "f_other"] });
    const shown: FileHandle = await chat.loadFile(conv.id, f.id);
    console.log(shown.url, shown.blob.size, f.size);
    shown.release();
    await chat.deleteFile(conv.id, "f_unsent");
  } catch (err) {
    if (err instanceof ChatboxError && err.code === "file_refused") console.log(err.field, err.status, err.message);
  }
}, { once: true });
chat.connect();

// @ts-expect-error: url is required
new ChatboxClient({ token: "t" });
// @ts-expect-error: an answer is a boolean
chat.approve("c_1", "r_1", "call_01", "yes");
// @ts-expect-error: attachments are ids or files, not numbers
chat.send("c_1", "hi", { attachments: [1] });
