// chat-layout.js: the chat page's phone layout, where the conversation
// list slides in over the conversation behind the menu button.
import { $ } from "./page.js";

export function closeSidebar() {
  document.body.classList.remove("sidebar-open");
  $("menu").setAttribute("aria-expanded", "false");
  $("scrim").hidden = true;
}
$("menu").addEventListener("click", () => {
  const open = !document.body.classList.contains("sidebar-open");
  document.body.classList.toggle("sidebar-open", open);
  $("menu").setAttribute("aria-expanded", String(open));
  $("scrim").hidden = !open;
  if (open) $("new-chat").focus();
});
$("scrim").addEventListener("click", closeSidebar);
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && document.body.classList.contains("sidebar-open")) closeSidebar(); });
