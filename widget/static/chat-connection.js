// chat-connection.js: what the chat page says about its connection. The
// states a user can tell apart:
//   signin      the page waits for a pasted token (no token endpoint)
//   signedout   the host's sign-in service says the user is not signed in
//               (401 or 403): a link to the sign-in page, no retrying
//   outage      the chat server cannot be reached: a countdown to the next
//               attempt, which the user may skip
//   tokenerror  the sign-in service failed otherwise: retried likewise
//   refused     the chat server refused the token
import { $, STATE_TEXT, showBanner, hideBanner } from "./page.js";

export class ConnectionView {
  // client is the ChatboxClient; cfg the page's settings (signin_url).
  constructor(client, cfg) {
    this.client = client;
    this.cfg = cfg;
    this.tokenError = null; // {status, message} of the last failed token fetch
    this.retryAt = 0; // when the next attempt is due
    this.ticker = 0;
  }

  // status sets the pill in the header.
  status(state, text) {
    document.body.dataset.state = state;
    $("status-text").textContent = text || STATE_TEXT[state] || state;
  }

  signin() { this.stopCountdown(); this.status("signin", "Sign-in needed"); hideBanner(); }

  // signedOut shows that the host's sign-in service does not know the user.
  signedOut() {
    this.stopCountdown();
    this.status("signedout", "Signed out");
    const link = this.cfg.signin_url;
    showBanner(link ? "You are signed out. Sign in to chat." : "You are signed out. Sign in on this site, then try again.",
      "Try again", () => { hideBanner(); this.client.connect(); });
    const b = $("banner-link");
    b.hidden = !link;
    if (link) b.href = link;
  }

  // update follows the client's statechange event.
  update({ state, retryInMs }) {
    $("banner-link").hidden = true;
    if (state === "closed" && this.tokenError && [401, 403].includes(this.tokenError.status)) return this.signedOut();
    this.status(state);
    if (state === "open") { this.tokenError = null; this.stopCountdown(); hideBanner(); }
    if (state === "reconnecting") {
      this.retryAt = Date.now() + (retryInMs || 0);
      this.startCountdown();
    }
    if (state === "unauthorized") {
      this.stopCountdown();
      const why = "You could not be signed in: the server refused your access token.";
      showBanner(why + (this.cfg.token_url ? " Sign in again, then retry." : ""), "Retry", () => { hideBanner(); this.client.connect(); });
    }
    if (state === "failed") {
      this.stopCountdown();
      showBanner("The connection was closed by the server and cannot be resumed.", "Retry", () => this.client.connect());
    }
  }

  // The countdown to the next attempt is redrawn every second.
  startCountdown() {
    this.render();
    if (!this.ticker) this.ticker = setInterval(() => this.render(), 1000);
  }

  stopCountdown() { clearInterval(this.ticker); this.ticker = 0; }

  render() {
    if (this.client.state !== "reconnecting") return this.stopCountdown();
    const left = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
    const when = left > 0 ? `in ${left} s` : "now";
    this.status("reconnecting", left > 0 ? `Reconnecting in ${left} s…` : "Reconnecting…");
    const text = this.tokenError
      ? `Could not get a sign-in token (${this.tokenError.message}). Retrying ${when}…`
      : `Cannot reach the chat server. Reconnecting ${when}… Your messages will be sent when it is back.`;
    showBanner(text, "Reconnect now", () => this.client.connect());
    document.body.dataset.problem = this.tokenError ? "token" : "outage";
  }
}
