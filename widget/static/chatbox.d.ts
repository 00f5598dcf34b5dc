// Type declarations of chatbox.js, the browser client of the chatbox
// protocol v1 (see protocol/PROTOCOL.md). They describe the module as it
// is: no build step is needed to use it from JavaScript.

export declare const PROTOCOL: "chatbox.v1";

/** A protocol error, or a client-side one ("disconnected", "timeout", "token_unavailable", "bad_url", "aborted"). */
export declare class ChatboxError extends Error {
  constructor(body: { code: string; message?: string; retryable?: boolean; retry_after_ms?: number; field?: string; ref?: string; status?: number });
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number;
  /**
   * The offending request field, for invalid_field; for file_refused, why the file was refused:
   * "type_not_allowed", "invalid_file", "too_many_pixels", "too_many_pages" or "check".
   */
  readonly field: string;
  /** Identifies an internal failure in the server's log ("" when absent). */
  readonly ref: string;
  /** The HTTP status of a refused file request (upload, download, delete); 0 otherwise. */
  readonly status: number;
}

/** Why the server refused an uploaded file (ChatboxError.field of file_refused). */
export type FileRefusal = "type_not_allowed" | "invalid_file" | "too_many_pixels" | "too_many_pages" | "check";

/** A file attached to a message. mediaType is the type the server decided from the content. */
export interface FileRef {
  id: string;
  name: string;
  mediaType: string;
}

/** A file upload() stored, to pass in send()'s attachments. */
export interface UploadedFile extends FileRef {
  size: number;
}

/** A file fetched for display by loadFile(). */
export interface FileHandle {
  /** A blob: URL of the file, valid until every holder called release() (and some seconds more). */
  url: string;
  blob: Blob;
  release(): void;
}

export interface UploadOptions {
  /** The name the file is stored with; default the File's name. */
  name?: string;
  /** Called as the bytes go out. */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  signal?: AbortSignal;
}

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "unauthorized" | "failed" | "closed";
export type Mode = "ai" | "waiting" | "operator";
export type Role = "user" | "assistant" | "operator" | "system";
export type MessageStatus = "queued" | "sending" | "sent" | "failed" | "streaming" | "complete";
export type FinishReason = "" | "stop" | "length" | "content_filter" | "abort" | "error" | "timeout" | "interrupted" | "handoff" | "max_steps" | "budget";

/** Where a tool call stands (see PROTOCOL.md, "Tools and approvals"). */
export type ToolStatus = "started" | "running" | "awaiting_approval" | "done" | "error" | "denied" | "expired";
/** Why a tool call did not end "done". */
export type ToolErrorCode = "" | "invalid_arguments" | "tool_error" | "timeout" | "panic" | "cancelled" | "unknown_tool" | "denied" | "expired";

/** This client's answer to an approval request. */
export interface ApprovalAnswer {
  approved: boolean;
  /** "sending" until the server answers, "sent" once it took it, "failed" when it refused it (see error). */
  state: "sending" | "sent" | "failed";
  error: ChatboxError | null;
}

/** A tool call of a reply. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments' JSON text as the model wrote it (pieces appended while status is "started"). */
  arguments: string;
  status: ToolStatus | string;
  /** The tool's result, or a short description of the failure. */
  result: string;
  errorCode: ToolErrorCode | string;
  /** When an approval request lapses (RFC 3339), or "". */
  expiresAt: string;
  /** The call asked for approval; how that ended is its status. */
  approval: boolean;
  /** This client's answer, once approve() was called for it. */
  answer: ApprovalAnswer | null;
}

/** A piece of a message, in order: a reply's text, reasoning and tool calls, or a message's text and files. */
export type Part =
  | { kind: "text"; text: string }
  | { kind: "reasoning"; text: string }
  | { kind: "tool"; call: ToolCall }
  | { kind: "file"; file: FileRef };

/** A tool call waiting for approve(). */
export interface PendingApproval {
  conversationId: string;
  replyId: string;
  call: ToolCall;
  conversation: Conversation;
  message: Message;
}

export interface Message {
  id: string;
  role: Role | string;
  /** The message's text: for a reply, the answer alone (never its reasoning or tool output). */
  text: string;
  /** "streaming" also while a reply waits for an approval: it has not ended. */
  status: MessageStatus;
  finishReason: FinishReason | string;
  /** Why a send or a reply failed. After a reload only the code is known. */
  error: ChatboxError | { code: string; message: string; ref: string } | null;
  replyTo: string;
  model: string;
  createdAt: string;
  /** The reply's reasoning, text and tool calls in order, or a message's text and files; empty for a message that is text only. */
  parts: Part[];
  /** The reply's tool calls by id (the same objects as in parts). */
  calls: Map<string, ToolCall>;
}

export interface ConversationInfo {
  id: string;
  title?: string;
  model?: string;
  status?: "active" | "ended" | string;
  mode?: Mode;
  operator?: { name: string };
  user_id?: string;
  created_at?: string;
  updated_at?: string;
  [key: string]: unknown;
}

export interface Conversation {
  id: string;
  info: ConversationInfo;
  messages: Map<string, Message>;
  lastSeq: number;
  cursor: string;
  attached: boolean;
  wanted: boolean;
  watched: boolean;
  ended: boolean;
  /** The id of the reply being generated, or "". */
  replyId: string;
  mode: Mode;
  operator: { name: string } | null;
}

export interface User { id: string; name?: string; roles?: string[] }
export interface Model { id: string; name?: string }
export interface Limits { max_frame_bytes: number; max_text_bytes: number }

export interface ChatboxEventMap {
  statechange: CustomEvent<{ state: ConnectionState; previous: ConnectionState; code?: number; reason?: string; retryInMs?: number }>;
  ready: CustomEvent<{ user: User; models: Model[]; defaultModel: string; limits: Limits | null }>;
  conversation: CustomEvent<{ conversation: Conversation }>;
  message: CustomEvent<{ conversation: Conversation; message: Message }>;
  mode: CustomEvent<{ conversationId: string; mode: Mode; operator: { name: string } | null; previous: Mode; conversation: Conversation }>;
  /** A tool call waits for approval (also fired for those still waiting when a conversation is loaded). */
  approval: CustomEvent<{ conversation: Conversation; message: Message; call: ToolCall }>;
  typing: CustomEvent<{ conversationId: string; role: Role | string; active: boolean }>;
  ended: CustomEvent<{ conversation: Conversation }>;
  error: CustomEvent<{ error: ChatboxError; conversationId?: string; request?: string; message?: Message }>;
  frame: CustomEvent<{ frame: { type: string; [key: string]: unknown } }>;
}

export interface ChatboxClientOptions {
  /** The socket endpoint: "/chat/ws" (same host) or "wss://...". */
  url: string;
  token?: string;
  /** Called before every connection, so it may refresh an expired token. */
  getToken?: () => string | Promise<string>;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  requestTimeoutMs?: number;
  /** Where the Server is mounted, for files ("/chat"); default: the socket URL without its last segment. */
  baseUrl?: string;
  /** How long a file's blob: URL outlives its last release, in ms (5000). */
  fileKeepMs?: number;
}

export declare class ChatboxClient extends EventTarget {
  constructor(options: ChatboxClientOptions);
  readonly url: string;
  /** Where files are uploaded and fetched: {baseUrl}/files. */
  readonly baseUrl: string;
  readonly state: ConnectionState;
  readonly user: User | null;
  readonly models: Model[];
  readonly defaultModel: string;
  readonly limits: Limits | null;
  readonly conversations: Map<string, Conversation>;

  connect(): void;
  close(): void;
  setToken(token: string): void;
  open(options?: { conversationId?: string; title?: string; model?: string; metadata?: Record<string, string>; limit?: number }): Promise<Conversation>;
  watch(conversationId: string, options?: { limit?: number }): Promise<Conversation>;
  help(conversationId: string): Promise<unknown>;
  takeover(conversationId: string, options?: { force?: boolean }): Promise<unknown>;
  release(conversationId: string): Promise<unknown>;
  list(options?: { limit?: number; cursor?: string }): Promise<{ conversations: ConversationInfo[]; cursor: string }>;
  loadOlder(conversationId: string, limit?: number): Promise<number>;
  /** Queues a message; attachments are files uploaded beforehand (their ids, or what upload() resolved with), and then the text may be blank. */
  send(conversationId: string, text: string, options?: { messageId?: string; attachments?: (string | FileRef)[] }): Message;
  /**
   * Uploads a file into a conversation of the user's, with the socket's token in the Authorization header. Rejects
   * with a ChatboxError carrying the server's code (too_large, file_refused with its field, rate_limited,
   * limit_reached, not_found, conversation_ended, unavailable), message and HTTP status.
   */
  upload(conversationId: string, file: Blob, options?: UploadOptions): Promise<UploadedFile>;
  /** Deletes an uploaded file no message references yet. */
  deleteFile(conversationId: string, fileId: string): Promise<void>;
  /** Fetches a file of the conversation (its owner, or an operator). */
  fetchFile(conversationId: string, fileId: string, options?: { signal?: AbortSignal }): Promise<Blob>;
  /** Fetches a file for display as a blob: URL; call release() when it is no longer shown. */
  loadFile(conversationId: string, fileId: string): Promise<FileHandle>;
  retry(conversationId: string, messageId: string): void;
  /**
   * Answers the approval request of a tool call: approved lets it run, false refuses it. Resolves once the server
   * took the answer; rejects with "conflict" (already answered or expired), "forbidden" (not the owner nor the
   * operator holding the conversation) or "not_found".
   */
  approve(conversationId: string, replyId: string, callId: string, approved: boolean): Promise<void>;
  /** The tool calls waiting for approval, of one conversation or of all. */
  pendingApprovals(conversationId?: string): PendingApproval[];
  stop(conversationId: string): Promise<unknown>;
  typing(conversationId: string, active: boolean): void;
  end(conversationId: string): Promise<unknown>;
  leave(conversationId: string): Promise<void>;

  addEventListener<K extends keyof ChatboxEventMap>(type: K, listener: (event: ChatboxEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof ChatboxEventMap>(type: K, listener: (event: ChatboxEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
