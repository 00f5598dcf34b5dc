// Package e2e holds chatbox's browser tests: the widget's chat page and
// operator console, served next to a real chatbox Server (memory store,
// scripted model), driven in Debian's chromium by chromedp. It is a module of its own so that the
// library's go.mod lists only what the library imports.
//
// Run them with
//
//	cd e2e && go test -race -count=1 ./...
//
// Chromium is looked up as $CHROMIUM, then chromium and chromium-browser on
// PATH. Without it the tests skip, except when CI=true, where they fail.
// Screenshots go to e2e/build/ (not committed).
package e2e
