package widget_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/widget"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func serve(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func mustHandler(t *testing.T, cfg widget.Config) http.Handler {
	t.Helper()
	h, err := widget.Handler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHandlerServesEveryAssetWithItsTypeAndRevalidation(t *testing.T) {
	h := mustHandler(t, widget.Config{})
	for path, ctype := range map[string]string{
		"/": "text/html; charset=utf-8", "/index.html": "text/html; charset=utf-8",
		"/chatbox.js": "text/javascript; charset=utf-8", "/markdown.js": "text/javascript; charset=utf-8",
		"/chat.js": "text/javascript; charset=utf-8", "/chat.css": "text/css; charset=utf-8",
		"/operator": "text/html; charset=utf-8", "/operator.html": "text/html; charset=utf-8",
		"/operator.js": "text/javascript; charset=utf-8", "/operator-view.js": "text/javascript; charset=utf-8",
		"/admin.js": "text/javascript; charset=utf-8", "/operator.css": "text/css; charset=utf-8",
		"/operator-thread.js": "text/javascript; charset=utf-8", "/page.js": "text/javascript; charset=utf-8",
		"/chat-person.js": "text/javascript; charset=utf-8", "/chat-thread.js": "text/javascript; charset=utf-8",
		"/chat-connection.js": "text/javascript; charset=utf-8", "/message-parts.js": "text/javascript; charset=utf-8",
		"/markdown-inline.js": "text/javascript; charset=utf-8", "/chatbox-state.js": "text/javascript; charset=utf-8",
		"/operator-lists.js": "text/javascript; charset=utf-8", "/chatbox.d.ts": "text/plain; charset=utf-8",
		"/tool-parts.js": "text/javascript; charset=utf-8", "/markdown-lines.js": "text/javascript; charset=utf-8",
	} {
		w := serve(t, h, http.MethodGet, path, nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != ctype || w.Body.Len() == 0 {
			t.Fatalf("GET %s: %d %q (%d bytes)", path, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Cache-Control") != "no-cache" {
			t.Fatalf("GET %s headers: %v", path, w.Header())
		}
		etag := w.Header().Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s: no ETag", path)
		}
		if w := serve(t, h, http.MethodGet, path, http.Header{"If-None-Match": {etag}}); w.Code != http.StatusNotModified {
			t.Fatalf("GET %s with its ETag: %d, want 304", path, w.Code)
		}
		if w := serve(t, h, http.MethodHead, path, nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Fatalf("HEAD %s: %d, %d bytes", path, w.Code, w.Body.Len())
		}
	}
}

func TestUnknownPathsAndMethodsAreRefused(t *testing.T) {
	h := mustHandler(t, widget.Config{})
	for _, path := range []string{"/nope", "/static/chatbox.js", "/../widget.go", "/chatbox.js/", "/operator/", "/index", "/operator.html/"} {
		if w := serve(t, h, http.MethodGet, path, nil); w.Code != http.StatusNotFound {
			t.Fatalf("GET %s: %d, want 404", path, w.Code)
		}
	}
	if w := serve(t, h, http.MethodPost, "/", nil); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /: %d %v", w.Code, w.Header())
	}
}

func TestPageCarriesItsConfigAndAPolicyForItsOrigins(t *testing.T) {
	h := mustHandler(t, widget.Config{})
	w := serve(t, h, http.MethodGet, "/", nil)
	page := w.Body.String()
	if !strings.Contains(page, `{"socket_url":"/chat/ws"}`) || !strings.Contains(page, "<title>Chat</title>") {
		t.Fatalf("default page config missing:\n%s", page)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self';") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP = %q", csp)
	}

	h = mustHandler(t, widget.Config{SocketURL: "wss://chat.example.com/chat/ws", TokenURL: "https://auth.example.com/token?a=1&b=2", Title: "Help"})
	w = serve(t, h, http.MethodGet, "/", nil)
	page = w.Body.String()
	if !strings.Contains(page, `"socket_url":"wss://chat.example.com/chat/ws"`) || !strings.Contains(page, `"token_url":"https://auth.example.com/token?a=1\u0026b=2"`) {
		t.Fatalf("page config:\n%s", page)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' wss://chat.example.com https://chat.example.com https://auth.example.com;") {
		t.Fatalf("CSP does not allow the configured origins (the socket's host over https for files): %q", csp)
	}
	if serve(t, h, http.MethodGet, "/chatbox.js", nil).Header().Get("Content-Security-Policy") != "" {
		t.Fatal("scripts carry the page's policy")
	}
}

func TestTitleCannotInjectMarkup(t *testing.T) {
	h := mustHandler(t, widget.Config{Title: `</title><script>alert(1)</script>&`})
	page := serve(t, h, http.MethodGet, "/", nil).Body.String()
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;") {
		t.Fatalf("title not escaped:\n%s", page)
	}
}

// The page template has two placeholders; whatever text fills one must not
// be taken for the other.
func TestTitleAndSettingsHoldingPlaceholdersAreShownAsWritten(t *testing.T) {
	h := mustHandler(t, widget.Config{Title: "Help {{CONFIG}} desk", WelcomeText: "Welcome to {{TITLE}}"})
	page := serve(t, h, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(page, "<title>Help {{CONFIG}} desk</title>") {
		t.Fatalf("title not shown as written:\n%s", page)
	}
	start := strings.Index(page, `<script type="application/json" id="chatbox-config">`)
	end := strings.Index(page[start:], "</script>")
	if start < 0 || end < 0 {
		t.Fatalf("no config element:\n%s", page)
	}
	conf := page[start+len(`<script type="application/json" id="chatbox-config">`) : start+end]
	var got map[string]string
	if err := json.Unmarshal([]byte(conf), &got); err != nil {
		t.Fatalf("config %q is not JSON: %v", conf, err)
	}
	if got["welcome"] != "Welcome to {{TITLE}}" || got["socket_url"] != "/chat/ws" {
		t.Fatalf("config = %v", got)
	}
}

func TestThemeAndSignInSettingsReachThePages(t *testing.T) {
	h := mustHandler(t, widget.Config{
		SignInURL: "/login?next=/support/", AccentColor: "#0a7d5a", LogoURL: "https://cdn.example.com/logo.svg",
		WelcomeText: "Ask Acme anything", Theme: "dark",
	})
	w := serve(t, h, http.MethodGet, "/", nil)
	for _, want := range []string{`"signin_url":"/login?next=/support/"`, `"accent":"#0a7d5a"`, `"logo_url":"https://cdn.example.com/logo.svg"`, `"welcome":"Ask Acme anything"`, `"theme":"dark"`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Fatalf("chat page lacks %s:\n%s", want, w.Body.String())
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: blob: https://cdn.example.com;") {
		t.Fatalf("CSP does not allow the logo: %q", csp)
	}
	console := serve(t, h, http.MethodGet, "/operator", nil).Body.String()
	if !strings.Contains(console, `"theme":"dark"`) || !strings.Contains(console, `"accent":"#0a7d5a"`) || strings.Contains(console, "signin_url") {
		t.Fatalf("console config:\n%s", console)
	}
	for _, bad := range []widget.Config{
		{AccentColor: "red"}, {AccentColor: "#12345"}, {AccentColor: "#fff;background:url(x)"}, {Theme: "blue"},
		{LogoURL: "javascript:alert(1)"}, {LogoURL: "data:image/png;base64,AAAA"}, {SignInURL: "javascript:alert(1)"},
		{WelcomeText: strings.Repeat("x", widget.MaxWelcomeBytes+1)},
	} {
		if _, err := widget.Handler(bad); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
}

func TestInvalidConfigIsReportedAllAtOnce(t *testing.T) {
	_, err := widget.Handler(widget.Config{
		SocketURL:        "http://chat.example.com/ws",
		TokenURL:         "javascript:alert(1)",
		Title:            strings.Repeat("x", widget.MaxTitleBytes+1),
		AdminURL:         "wss://chat.example.com/admin/",
		OperatorTokenURL: "operator-token",
	})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"SocketURL", "TokenURL", "Title", "AdminURL", "OperatorTokenURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %s", err, want)
		}
	}
	for _, bad := range []widget.Config{
		{SocketURL: "chat/ws"}, {SocketURL: "//evil.example/ws"}, {SocketURL: `/ws"><script>`},
		{SocketURL: "wss://user:pw@chat.example.com/ws"}, {TokenURL: "/t#frag"}, {TokenURL: "ws://x/t"},
		{Title: "\xff"}, {AdminURL: "chat/admin/"}, {AdminURL: "/chat/admin"}, {AdminURL: "/chat/admin/?x=1"},
		{AdminURL: "https://admin.example.com/api"}, {AdminURL: "javascript:alert(1)//"}, {AdminURL: "//evil.example/admin/"},
		{AdminURL: "/admin/#x"}, {OperatorTokenURL: "javascript:alert(1)"}, {OperatorTokenURL: "ws://x/t"},
	} {
		if _, err := widget.Handler(bad); err == nil {
			t.Fatalf("accepted %+v", bad)
		}
	}
}

// The client must stay small enough to drop into any page (the target is
// under 15 KB gzipped); the page's renderer is counted too.
func TestClientAndRendererAreSmall(t *testing.T) {
	h := mustHandler(t, widget.Config{})
	for path, limit := range map[string]int{"/chatbox.js": 15 << 10, "/markdown.js": 8 << 10} {
		body := serve(t, h, http.MethodGet, path, nil).Body.Bytes()
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		t.Logf("%s: %d bytes, %d gzipped", path, len(body), buf.Len())
		if buf.Len() > limit {
			t.Fatalf("%s is %d bytes gzipped, over %d", path, buf.Len(), limit)
		}
	}
}

// No script of the widget may turn text into markup: every node is built
// with createElement and textContent. This guards against a sink creeping in.
func TestScriptsUseNoHTMLSinks(t *testing.T) {
	sink := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc|createContextualFragment|DOMParser`)
	err := fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".js" {
			return err
		}
		f, err := os.Open(filepath.Join("static", path))
		if err != nil {
			return err
		}
		defer f.Close()
		src, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		if m := sink.Find(src); m != nil {
			t.Errorf("%s uses %s", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOperatorConsoleCarriesItsConfigAndAPolicyForTheAdminAPI(t *testing.T) {
	h := mustHandler(t, widget.Config{})
	w := serve(t, h, http.MethodGet, "/operator", nil)
	console := w.Body.String()
	if !strings.Contains(console, `{"socket_url":"/chat/ws","admin_url":"/chat/admin/"}`) ||
		!strings.Contains(console, "<title>Operator console · Chat</title>") || !strings.Contains(console, "./operator.js") {
		t.Fatalf("default console config missing:\n%s", console)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self';") || !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "frame-ancestors 'self'") {
		t.Fatalf("console CSP = %q", csp)
	}
	if alias := serve(t, h, http.MethodGet, "/operator.html", nil); alias.Body.String() != console {
		t.Fatal("/operator.html is not the console")
	}

	h = mustHandler(t, widget.Config{
		SocketURL: "wss://chat.example.com/chat/ws", TokenURL: "https://auth.example.com/token",
		AdminURL: "https://chat.example.com/chat/admin/", OperatorTokenURL: "/staff/token", Title: "Help <desk>",
	})
	w = serve(t, h, http.MethodGet, "/operator", nil)
	console = w.Body.String()
	if !strings.Contains(console, `{"socket_url":"wss://chat.example.com/chat/ws","token_url":"/staff/token","admin_url":"https://chat.example.com/chat/admin/"}`) ||
		!strings.Contains(console, "Operator console · Help &lt;desk&gt;") {
		t.Fatalf("console config:\n%s", console)
	}
	// The console talks to the socket and the API, not to the users' token
	// endpoint; the chat page does not talk to the API.
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' wss://chat.example.com https://chat.example.com;") {
		t.Fatalf("console CSP does not allow exactly the socket and API origins: %q", csp)
	}
	chat := serve(t, h, http.MethodGet, "/", nil)
	if csp := chat.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' wss://chat.example.com https://chat.example.com https://auth.example.com;") || strings.Contains(csp, "frame-ancestors") {
		t.Fatalf("chat page CSP = %q", csp)
	}
	if strings.Contains(chat.Body.String(), "admin_url") || strings.Contains(chat.Body.String(), "/staff/token") {
		t.Fatal("the chat page carries the console's settings")
	}
}

func TestCookieSignInPageAsksForNoToken(t *testing.T) {
	h := mustHandler(t, widget.Config{CookieSignIn: true})
	page := serve(t, h, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(page, `"cookie_sign_in":true`) {
		t.Fatalf("chat page config lacks cookie_sign_in:\n%s", page)
	}
	if _, err := widget.Handler(widget.Config{CookieSignIn: true, TokenURL: "/token"}); err == nil || !strings.Contains(err.Error(), "CookieSignIn") {
		t.Fatalf("CookieSignIn with TokenURL: %v, want an error naming both", err)
	}
}
