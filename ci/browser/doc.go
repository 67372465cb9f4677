// Package browser holds the real-browser tests of the operator console
// (package console) and the shop's web front (services/shopweb): Debian's
// Chromium in headless mode driven by chromedp, against the whole shop
// in-process on the real stack (internal/shoptest). One browser serves the
// whole test binary. Without Chromium the tests skip, and fail under CI.
//
//	go test ./ci/browser
//	CONSOLE_SCREENSHOTS=$PWD/docs/console go test ./ci/browser   # refresh docs/console/*.png
package browser
