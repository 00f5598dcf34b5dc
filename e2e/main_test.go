package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

// browser is the one chromium every test of the package shares; each test
// opens its own browser contexts in it (separate storage, like separate
// devices). It is nil when chromium is missing.
var browser struct {
	alloc   context.Context // allocator context: parent of every tab
	root    context.Context // the browser's first tab, kept open
	missing string          // why there is no browser
}

func TestMain(m *testing.M) {
	code := run(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func run(m *testing.M) int {
	path, err := chromiumPath()
	if err != nil {
		browser.missing = err.Error()
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "chatbox-e2e-profile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// These flags keep chromium off the network except for the pages the
	// tests serve (background networking would try to reach the internet).
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
	)
	defer cancelAlloc()
	root, cancelRoot := chromedp.NewContext(alloc)
	defer cancelRoot()
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		return 1
	}
	browser.alloc, browser.root = alloc, root
	return m.Run()
}

// chromiumPath finds chromium: $CHROMIUM, then the usual names on PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found (apt-get install -y chromium, or set CHROMIUM)")
}

// needBrowser skips the test when there is no chromium, except in CI
// (CI=true), where a missing browser fails it: browser tests must not
// silently stop running.
func needBrowser(t *testing.T) {
	t.Helper()
	if browser.missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser tests cannot run: %s", browser.missing)
	}
	t.Skipf("browser tests skipped: %s", browser.missing)
}
