// chat-person.js: what the chat page tells the user about talking to a
// person, from the conversation's mode (see chatbox.js, event "mode").
import { el } from "./page.js";

// personNotice returns the banner for a conversation in mode ("ai",
// "waiting" or "operator") with the operator's name (may be ""), where
// left is the name of an operator who just handed the conversation back
// ("" when unknown) or null. kind styles the banner; nodes is empty when
// there is nothing to say. onDismiss is called by the banner's close
// button, shown once the assistant is back.
export function personNotice(mode, name, left, onDismiss) {
  let title = "", detail = "", kind = mode;
  if (mode === "waiting") {
    title = "You asked to talk to a person.";
    detail = "Someone from the team will join shortly; the assistant keeps helping in the meantime.";
  } else if (mode === "operator") {
    title = name ? `${name} joined the conversation` : "A person joined the conversation";
    detail = "You are now talking to a person, not to the assistant.";
  } else if (left !== null) {
    kind = "left";
    title = `${left || "The person"} left; the assistant is back`;
    detail = "Ask again if you need a person.";
  }
  if (!title) return { kind, nodes: [] };
  const icon = el("span", "mode-icon");
  icon.setAttribute("aria-hidden", "true");
  const text = el("p", "mode-text");
  text.append(el("strong", null, title), " ", el("span", null, detail));
  const nodes = [icon, text];
  if (kind === "left") {
    const close = el("button", "icon-btn mode-dismiss", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", onDismiss);
    nodes.push(close);
  }
  return { kind, nodes };
}
