// Package widget serves chatbox's browser client, chat page and operator
// console: static assets embedded in the binary, served by an http.Handler
// the host mounts next to the chat Server.
//
//	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", TokenURL: "/chat-token"})
//	if err != nil { ... }
//	mux.Handle("/chat/", http.StripPrefix("/chat", chatServer))
//	mux.Handle("/support/", http.StripPrefix("/support", page))
//
// The handler serves:
//
//	/             the chat page (index.html with the Config written into it)
//	/operator     the operator console: the needs-help queue, conversation
//	              lists from the operator HTTP API (Config.AdminURL), a live
//	              view of a conversation, takeover, writing as operator,
//	              release and end; it needs a token with an operator role
//	/chatbox.js   the protocol client: an ES module (with chatbox-state.js)
//	              that hosts may also import in their own pages;
//	              /chatbox.d.ts declares its types
//	/markdown.js  the safe Markdown renderer the pages use (with
//	              markdown-lines.js and markdown-inline.js), linear in
//	              the text
//	/message-parts.js, /tool-parts.js, /file-parts.js, /chat.js, /chat-thread.js,
//	/chat-connection.js, /chat-files.js, /chat-person.js, /chat-layout.js, /chat.css, /operator.js,
//	/operator-lists.js, /operator-thread.js, /operator-view.js, /admin.js,
//	/operator.css, /page.js
//	              the pages' scripts and style sheets
//
// Config's SignInURL, AccentColor, LogoURL, WelcomeText and Theme adjust
// the pages to the host (see their docs).
//
// Every response carries X-Content-Type-Options: nosniff; the two pages also
// carry a Content-Security-Policy that allows scripts and styles only from
// their own origin, images also from blob: URLs (attached files, fetched
// with the token), and connections only to it plus the configured socket
// (and the same host over http(s), for files), token and (for the console)
// admin API origins, as a second line of defence behind the renderer, which
// never turns model or user text into HTML.
//
// Assets are revalidated on every load (Cache-Control: no-cache) with a
// content hash as ETag, so a new build of the host reaches browsers at once.
package widget

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed static
var static embed.FS

// DefaultSocketURL is the socket endpoint the page connects to when
// Config.SocketURL is empty: a Server mounted under /chat.
const DefaultSocketURL = "/chat/ws"

// DefaultTitle is the page title when Config.Title is empty.
const DefaultTitle = "Chat"

// DefaultAdminURL is the operator HTTP API the console calls when
// Config.AdminURL is empty: a Server mounted under /chat with its default
// admin prefix.
const DefaultAdminURL = "/chat/admin/"

// MaxTitleBytes bounds Config.Title.
const MaxTitleBytes = 200

// MaxWelcomeBytes bounds Config.WelcomeText.
const MaxWelcomeBytes = 500

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Config configures the chat page and the operator console. The zero Config
// is valid.
type Config struct {
	// SocketURL is the chatbox WebSocket endpoint: an absolute path on the
	// page's host ("/chat/ws") or a ws:// or wss:// URL. Default
	// DefaultSocketURL. A socket on another host must allow the page's
	// origin (chatbox.WithAllowedOrigins).
	SocketURL string
	// TokenURL is where the page gets its access token: it sends GET with
	// the browser's cookies (same-origin) and expects {"token": "..."}.
	// It is fetched again before every reconnect, so it may mint
	// short-lived tokens. An absolute path or an http(s) URL. Default
	// empty: the page asks the user to paste a token and keeps it for the
	// browser tab only (sessionStorage).
	TokenURL string
	// CookieSignIn says the chat Server knows the page's user from the
	// browser's own sign-in (chatbox.WithRequestAuthenticator, a session
	// cookie): the page sends no token and asks for none. Exclusive with
	// TokenURL. Default false.
	CookieSignIn bool
	// Title is shown in the page header and the browser tab. Default
	// DefaultTitle; at most MaxTitleBytes.
	Title string
	// AdminURL is the chat Server's operator HTTP API, which the console
	// lists conversations from: an absolute path or an http(s) URL ending
	// with "/", without query. Default DefaultAdminURL. An API on another
	// host must answer the console's cross-origin requests (CORS).
	AdminURL string
	// SignInURL is the host's sign-in page. When the token endpoint
	// (TokenURL) answers 401 or 403, the user is signed out of the host:
	// the chat page says so and links here instead of retrying. An
	// absolute path or an http(s) URL. Default empty: the page says the
	// user is signed out without a link.
	SignInURL string
	// AccentColor is the colour of buttons, links and the user's
	// messages, as "#rgb" or "#rrggbb"; text on it is black or white,
	// whichever reads better. Default empty: the built-in blue.
	AccentColor string
	// LogoURL is an image shown beside the title on both pages: an
	// absolute path or an http(s) URL (its origin is added to the pages'
	// img-src policy). Default empty: no logo.
	LogoURL string
	// WelcomeText is the heading of an empty conversation on the chat
	// page, at most MaxWelcomeBytes. Default "How can I help?".
	WelcomeText string
	// Theme is "light", "dark" or "auto" (follow the browser's
	// prefers-color-scheme). Default "auto".
	Theme string
	// OperatorTokenURL is where the console gets the operator's access
	// token, as TokenURL is for the chat page (GET with the browser's
	// cookies, {"token": "..."}, fetched again before every reconnect). It
	// may be the same URL when that endpoint mints tokens carrying the
	// operator role for operators. Default empty: the console asks the
	// operator to paste a token and keeps it for the browser tab only.
	OperatorTokenURL string
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	assets map[string]asset  // by URL path
	csp    map[string]string // Content-Security-Policy by page path
}

// pageConfig is the JSON written into a page: what its script needs.
type pageConfig struct {
	SocketURL string `json:"socket_url"`
	TokenURL  string `json:"token_url,omitempty"`
	Cookie    bool   `json:"cookie_sign_in,omitempty"`
	AdminURL  string `json:"admin_url,omitempty"`
	SignInURL string `json:"signin_url,omitempty"`
	Accent    string `json:"accent,omitempty"`
	Logo      string `json:"logo_url,omitempty"`
	Welcome   string `json:"welcome,omitempty"`
	Theme     string `json:"theme,omitempty"`
}

// Handler returns the handler serving the chat page, the operator console
// and their assets. It reports every invalid Config field at once. The
// handler is safe for concurrent use; it serves only GET and HEAD (405
// otherwise) and 404 for unknown paths.
func Handler(cfg Config) (http.Handler, error) {
	socket, socketOrigin, errSocket := checkURL("SocketURL", cfg.SocketURL, DefaultSocketURL, "ws", "wss")
	// Files go over HTTP to the Server the socket belongs to.
	filesOrigin := strings.Replace(socketOrigin, " ws", " http", 1)
	token, tokenOrigin, errToken := checkURL("TokenURL", cfg.TokenURL, "", "http", "https")
	opToken, opTokenOrigin, errOpToken := checkURL("OperatorTokenURL", cfg.OperatorTokenURL, "", "http", "https")
	admin, adminOrigin, errAdmin := checkURL("AdminURL", cfg.AdminURL, DefaultAdminURL, "http", "https")
	if errAdmin == nil && (strings.Contains(admin, "?") || !strings.HasSuffix(admin, "/")) {
		errAdmin = fmt.Errorf("widget: AdminURL %q must end with / and have no query", admin)
	}
	title := cfg.Title
	if title == "" {
		title = DefaultTitle
	}
	var errTitle error
	if len(title) > MaxTitleBytes || !utf8.ValidString(title) {
		errTitle = fmt.Errorf("widget: Title must be valid UTF-8 of at most %d bytes", MaxTitleBytes)
	}
	signIn, _, errSignIn := checkURL("SignInURL", cfg.SignInURL, "", "http", "https")
	logo, logoOrigin, errLogo := checkURL("LogoURL", cfg.LogoURL, "", "http", "https")
	var errAccent, errWelcome, errTheme error
	if cfg.AccentColor != "" && !hexColor.MatchString(cfg.AccentColor) {
		errAccent = fmt.Errorf("widget: AccentColor %q must be #rgb or #rrggbb", cfg.AccentColor)
	}
	if len(cfg.WelcomeText) > MaxWelcomeBytes || !utf8.ValidString(cfg.WelcomeText) {
		errWelcome = fmt.Errorf("widget: WelcomeText must be valid UTF-8 of at most %d bytes", MaxWelcomeBytes)
	}
	if cfg.CookieSignIn && cfg.TokenURL != "" {
		errToken = errors.Join(errToken, errors.New("widget: CookieSignIn and TokenURL exclude each other"))
	}
	switch cfg.Theme {
	case "", "auto", "light", "dark":
	default:
		errTheme = fmt.Errorf("widget: Theme %q must be light, dark or auto", cfg.Theme)
	}
	if err := errors.Join(errSocket, errToken, errOpToken, errAdmin, errTitle, errSignIn, errLogo, errAccent, errWelcome, errTheme); err != nil {
		return nil, err
	}
	look := pageConfig{Accent: cfg.AccentColor, Logo: logo, Theme: cfg.Theme}
	chatConf, consoleConf := look, look
	chatConf.SocketURL, chatConf.TokenURL, chatConf.SignInURL, chatConf.Welcome = socket, token, signIn, cfg.WelcomeText
	chatConf.Cookie = cfg.CookieSignIn
	consoleConf.SocketURL, consoleConf.TokenURL, consoleConf.AdminURL = socket, opToken, admin
	pages := map[string]struct {
		path    string
		conf    pageConfig
		origins string
		extra   string // further directives
	}{
		// The chat page may be framed by the host's pages; the console,
		// whose buttons act on other users' conversations, may not be
		// framed by other sites.
		"index.html":    {"/", chatConf, socketOrigin + filesOrigin + tokenOrigin, ""},
		"operator.html": {"/operator", consoleConf, socketOrigin + filesOrigin + opTokenOrigin + adminOrigin, "; frame-ancestors 'self'"},
	}

	h := &handler{assets: map[string]asset{}, csp: map[string]string{}}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		return nil, fmt.Errorf("widget: read assets: %w", err)
	}
	for _, e := range entries {
		body, err := static.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("widget: read %s: %w", e.Name(), err)
		}
		name := "/" + e.Name()
		if p, ok := pages[e.Name()]; ok {
			name = p.path
			body, err = page(body, title, p.conf)
			if err != nil {
				return nil, err
			}
			// blob: shows attached files, fetched with the token.
			h.csp[name] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:" + logoOrigin + "; " +
				"connect-src 'self'" + dedupe(p.origins) + "; base-uri 'none'; form-action 'none'" + p.extra
		}
		h.assets[name] = newAsset(e.Name(), body)
	}
	return h, nil
}

// dedupe drops repeated entries of a space-separated origin list (each
// entry with its leading space).
func dedupe(origins string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, o := range strings.Fields(origins) {
		if !seen[o] {
			seen[o] = true
			b.WriteString(" " + o)
		}
	}
	return b.String()
}

// page writes the title and the configuration into the page template, in
// one pass over the template: text written in is never read again, so a
// title containing "{{CONFIG}}" (or a setting containing "{{TITLE}}") is
// shown as it is.
func page(tmpl []byte, title string, pc pageConfig) ([]byte, error) {
	// json.Marshal escapes <, > and &, so the JSON cannot end the script
	// element it sits in.
	conf, err := json.Marshal(pc)
	if err != nil {
		return nil, fmt.Errorf("widget: encode config: %w", err)
	}
	r := strings.NewReplacer("{{TITLE}}", html.EscapeString(title), "{{CONFIG}}", string(conf))
	return []byte(r.Replace(string(tmpl))), nil
}

func newAsset(name string, body []byte) asset {
	sum := sha256.Sum256(body)
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".ts":
		ct = "text/plain; charset=utf-8" // chatbox.d.ts, for TypeScript pages
	}
	return asset{body: body, contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// checkURL validates an absolute path or a URL with one of schemes, and
// returns it with the origin a Content-Security-Policy must allow for it
// (" scheme://host", or "" for a path on the page's own host).
func checkURL(field, raw, def string, schemes ...string) (value, origin string, err error) {
	if raw == "" {
		return def, "", nil
	}
	u, perr := url.Parse(raw)
	bad := perr != nil || u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n\"'<>\\")
	switch {
	case bad:
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//"):
		return raw, "", nil
	case u.Host != "":
		for _, s := range schemes {
			if u.Scheme == s {
				return raw, " " + u.Scheme + "://" + u.Host, nil
			}
		}
	}
	return "", "", fmt.Errorf("widget: %s %q must be an absolute path or a %s URL", field, raw, strings.Join(schemes, " or "))
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := r.URL.Path
	switch name {
	case "", "/index.html":
		name = "/"
	case "/operator.html":
		name = "/operator"
	}
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if csp, ok := h.csp[name]; ok {
		hd.Set("Content-Security-Policy", csp)
	}
	// No modification time: the ETag does the caching.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
