package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/riferrei/srclient"

	"github.com/stratahq/strata/console"
	avroorder "github.com/stratahq/strata/gen/avro/order"
	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	"github.com/stratahq/strata/internal/shoptest"
	"github.com/stratahq/strata/internal/testenv"
	"github.com/stratahq/strata/saga"
	invadapters "github.com/stratahq/strata/services/inventory/adapters"
	"github.com/stratahq/strata/services/order/app/command"
	payadapters "github.com/stratahq/strata/services/payment/adapters"
	projector "github.com/stratahq/strata/services/projector/service"
	shopweb "github.com/stratahq/strata/services/shopweb/service"
	clicon "github.com/stratahq/strata/tools/strata/cli/console"
)

const token = "browser-test-token-0123456789"

// env is the shop, its web front, the console and one browser.
type env struct {
	shop            *shoptest.Shop
	shopURL, conURL string
	browser         context.Context
	shots           string // CONSOLE_SCREENSHOTS: write PNGs here
}

// chromium finds Debian's Chromium; missing, the test skips, or fails under CI.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	err := errors.New("chromium is not installed (apt-get install -y chromium; ci/stack.sh installs it)")
	if os.Getenv("CI") != "" {
		t.Fatal(err)
	}
	t.Skip(err)
	return ""
}

// startBrowser starts one headless Chromium for the whole test binary.
func startBrowser(t *testing.T) context.Context {
	path := chromium(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	browser, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return browser
}

func start(t *testing.T) *env {
	// Refunds fail and p-gone is out of stock, so an order with p-gone parks
	// its saga; other orders complete.
	s := shoptest.Start(t, payadapters.Faults{FailRefunds: true}, invadapters.Config{InitialStock: 1000, OutOfStockProducts: []string{"p-gone"}})
	e := &env{shop: s, shots: os.Getenv("CONSOLE_SCREENSHOTS")}
	web := make(chan string, 1)
	shoptest.Run(t, "shopweb", func(ctx context.Context) error {
		return shopweb.Run(ctx, shopweb.Config{HTTPAddr: "127.0.0.1:0", OrderAddr: s.OrderAddr, QueryAddr: s.QueryAddr,
			LiveEvery: 250 * time.Millisecond, Ready: func(a string) { web <- a }, Logger: slog.New(slog.DiscardHandler)})
	})
	cfg := console.Config{
		Pool: s.Pool, Store: s.Store,
		Kafka: s.Kafka(), Registry: testenv.RegistryClient(t, s.Registry),
		TopicPrefix: s.Prefix, Token: token, AllowWrite: true, LiveEvery: 250 * time.Millisecond,
		Lag:    clicon.Lag,
		Logger: slog.New(slog.DiscardHandler),
	}
	// The console the shop's projector serves (projector console): with the
	// shop's types, upcasters and projections.
	if err := projector.ConsoleOption(&cfg); err != nil {
		t.Fatal(err)
	}
	con, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conAddr := make(chan string, 1)
	shoptest.Run(t, "console", func(ctx context.Context) error {
		return con.ListenAndServe(ctx, "127.0.0.1:0", func(a string) { conAddr <- a })
	})
	for _, w := range []struct {
		ch  chan string
		dst *string
	}{{web, &e.shopURL}, {conAddr, &e.conURL}} {
		select {
		case a := <-w.ch:
			*w.dst = "http://" + a
		case <-time.After(30 * time.Second):
			t.Fatal("web server did not start")
		}
	}
	e.browser = startBrowser(t)
	return e
}

// tab opens a new tab of the browser for one subtest.
func (e *env) tab(t *testing.T) context.Context {
	ctx, cancel := chromedp.NewContext(e.browser)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(cancelT)
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls a JavaScript condition every 100ms; errors while a page
// navigates count as "not yet".
func waitFor(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+js+`); } catch (e) { return false; } })()`))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("waiting %s for %s (last error %v)\npage text:\n%s", timeout, what, last, text)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves a 1280x800 screenshot as docs/console/NAME.png when
// CONSOLE_SCREENSHOTS names a folder.
func (e *env) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if e.shots == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(e.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// narrow checks the page at a phone's width: nothing wider than the screen
// (tables scroll inside their own box), then restores 1280x800.
func (e *env) narrow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	do(t, ctx, "narrow viewport", chromedp.EmulateViewport(390, 844))
	w := eval[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`)
	if w > 1 {
		t.Errorf("%s at 390px: the page is %vpx wider than the screen", name, w)
	}
	e.shot(t, ctx, name+"-narrow")
	do(t, ctx, "wide viewport", chromedp.EmulateViewport(1280, 800))
}

// tabTo presses Tab until the element with id has the focus (keyboard-only
// use), at most 80 times.
func tabTo(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	for range 80 {
		do(t, ctx, "tab", chromedp.KeyEvent("\t"))
		if eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ""`) == id {
			return
		}
	}
	t.Fatalf("Tab never reached #%s", id)
}

// jsClick clicks the element a JavaScript expression yields.
func jsClick(t *testing.T, ctx context.Context, el string) {
	t.Helper()
	if !eval[bool](t, ctx, `((el) => { if (!el) { return false; } el.click(); return true; })(`+el+`)`) {
		t.Fatalf("no element %s", el)
	}
}

// login opens next, signing in first when the console asks for its token.
func (e *env) login(t *testing.T, ctx context.Context, next string) {
	t.Helper()
	do(t, ctx, "open "+next, chromedp.Navigate(e.conURL+next))
	waitFor(t, ctx, "a page", `document.readyState === 'complete'`, 10*time.Second)
	if eval[string](t, ctx, `location.pathname`) != "/login" {
		return
	}
	do(t, ctx, "log in", chromedp.SetValue(chromedp.CSS(`input[name=token]`), token),
		chromedp.Submit(chromedp.CSS(`input[name=token]`)))
	waitFor(t, ctx, "the page after login", `location.pathname !== '/login' && document.readyState === 'complete'`, 10*time.Second)
}

// TestBrowser runs every browser test against one shop, one console and one
// Chromium.
func TestBrowser(t *testing.T) {
	testenv.DatabaseURL(t)
	e := start(t)
	t.Run("ShopOrderStatusFollowsTheSaga", e.testShop)
	t.Run("ConsoleReplaysADeadLetter", e.testDLQ)
	t.Run("ConsoleRetriesAParkedSaga", e.testSagaRetry)
	t.Run("ConsoleRebuildsAProjection", e.testRebuild)
	t.Run("ConsolePages", e.testPages)
}

// Place an order in the shop page (keyboard only) and watch its status
// change as the saga confirms it; then ship it.
func (e *env) testShop(t *testing.T) {
	ctx := e.tab(t)
	do(t, ctx, "shop home", chromedp.Navigate(e.shopURL+"/"))
	e.shot(t, ctx, "shop-home")
	e.narrow(t, ctx, "shop-home")
	do(t, ctx, "customer", chromedp.SetValue(chromedp.CSS(`input[name=customer]`), testenv.UniqueName("web")))
	tabTo(t, ctx, "place")
	do(t, ctx, "press Enter on Place order", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "the order page", `location.pathname.startsWith('/orders/')`, 15*time.Second)
	first := eval[string](t, ctx, `document.querySelector('[data-state]').dataset.state + ' ' + document.querySelector('#status').textContent`)
	t.Logf("first view after placing: %s", first)
	if !strings.HasSuffix(first, "PLACED") && !strings.HasSuffix(first, "CONFIRMED") {
		t.Fatalf("after placing, the page shows %q; want PLACED (pending or current) or already CONFIRMED", first)
	}
	waitFor(t, ctx, "the saga to confirm the order, shown as current",
		`document.querySelector('#status').textContent === 'CONFIRMED' && document.querySelector('[data-state]').dataset.state === 'current'`, 3*time.Minute)
	e.shot(t, ctx, "shop-order")
	e.narrow(t, ctx, "shop-order")
	do(t, ctx, "ship", chromedp.Click(chromedp.CSS(`#ship`)))
	waitFor(t, ctx, "SHIPPED", `document.querySelector('#status') && document.querySelector('#status').textContent === 'SHIPPED'`, 30*time.Second)
	waitFor(t, ctx, "SHIPPED current", `document.querySelector('[data-state]').dataset.state === 'current'`, 30*time.Second)
	id := strings.TrimPrefix(eval[string](t, ctx, `location.pathname`), "/orders/")
	got, err := e.shop.Orders.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
	if err != nil || got.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_SHIPPED {
		t.Fatalf("order %s: %v %v, want SHIPPED", id, got.GetOrder().GetStatus(), err)
	}
}

// A CancelOrder for an order that does not exist yet is dead-lettered; once
// the order exists, the operator finds the message in the console and
// replays it, and the order is cancelled.
func (e *env) testDLQ(t *testing.T) {
	ctx := e.tab(t)
	placeCmd := testenv.UniqueName("dlq-place")
	id := command.OrderIDFor(placeCmd)
	e.shop.SendCommand(t, "order", testenv.UniqueName("dlq-cancel"), id, &avroorder.CancelOrder{OrderID: id, Reason: "replayed from the console"})
	dlq := e.shop.Prefix + "commands.order.dlq"
	e.login(t, ctx, "/dlq")
	deadline := time.Now().Add(60 * time.Second)
	for {
		do(t, ctx, "dlq page", chromedp.Navigate(e.conURL+"/dlq?topic="+dlq))
		if eval[bool](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('td[data-label=Key] a')].some(a => a.textContent === %q)`, id)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead letter for %s never showed in the console", id)
		}
		time.Sleep(time.Second)
	}
	// Now the order exists.
	res, err := e.shop.Orders.PlaceOrder(ctx, &orderv1.PlaceOrderRequest{CommandId: placeCmd, CustomerId: "dlq-customer", CurrencyCode: "EUR",
		Items:           []*orderv1.OrderItem{{ProductId: "p-1", Quantity: 1, UnitPrice: &orderv1.Money{CurrencyCode: "EUR", AmountMinor: 500}}},
		ShippingMethod:  orderv1.ShippingMethod_SHIPPING_METHOD_STANDARD,
		ShippingAddress: &orderv1.Address{Recipient: "R", Line1: "L", City: "C", PostalCode: "P", CountryCode: "GB"}})
	if err != nil || res.GetResult().GetOrderId() != id {
		t.Fatalf("place: %v (id %s, want %s)", err, res.GetResult().GetOrderId(), id)
	}
	do(t, ctx, "show the payload", chromedp.Click(chromedp.CSS(`details summary`)))
	e.shot(t, ctx, "console-dlq")
	e.narrow(t, ctx, "console-dlq")
	box := fmt.Sprintf(`[...document.querySelectorAll('input[name=msg]')].find(b => b.closest('tr').querySelector('td[data-label=Key] a').textContent === %q)`, id)
	jsClick(t, ctx, box)
	do(t, ctx, "replay selected", chromedp.Click(chromedp.CSS(`form#replay button.primary`)))
	waitFor(t, ctx, "the replay report", `!!document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Replayed 1 message')`, 60*time.Second)
	deadline = time.Now().Add(60 * time.Second)
	for {
		got, err := e.shop.Orders.GetOrder(ctx, &orderv1.GetOrderRequest{OrderId: id})
		if err == nil && got.GetOrder().GetStatus() == orderv1.OrderStatus_ORDER_STATUS_CANCELLED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s after the replay: %v %v, want CANCELLED", id, got.GetOrder().GetStatus(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Replaying the same message again re-produces nothing.
	do(t, ctx, "dlq page", chromedp.Navigate(e.conURL+"/dlq?topic="+dlq))
	jsClick(t, ctx, box)
	do(t, ctx, "replay again", chromedp.Click(chromedp.CSS(`form#replay button.primary`)))
	waitFor(t, ctx, "the second report", `!!document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Nothing replayed')`, 60*time.Second)
}

// An order with an out-of-stock product whose refund fails parks its saga;
// after the provider is fixed the operator retries it from the console
// (keyboard only) and watches it compensate.
func (e *env) testSagaRetry(t *testing.T) {
	ctx := e.tab(t)
	park := func() string {
		res, err := e.shop.Orders.PlaceOrder(ctx, &orderv1.PlaceOrderRequest{CommandId: testenv.UniqueName("park"), CustomerId: "parked-customer", CurrencyCode: "EUR",
			Items: []*orderv1.OrderItem{
				{ProductId: "p-1", Quantity: 1, UnitPrice: &orderv1.Money{CurrencyCode: "EUR", AmountMinor: 700}},
				{ProductId: "p-gone", Quantity: 1, UnitPrice: &orderv1.Money{CurrencyCode: "EUR", AmountMinor: 300}}},
			ShippingMethod:  orderv1.ShippingMethod_SHIPPING_METHOD_STANDARD,
			ShippingAddress: &orderv1.Address{Recipient: "R", Line1: "L", City: "C", PostalCode: "P", CountryCode: "GB"}})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetResult().GetOrderId()
	}
	id, other := park(), park()
	e.login(t, ctx, "/sagas")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		do(t, ctx, "parked sagas", chromedp.Navigate(e.conURL+"/sagas?status=PARKED"))
		if eval[bool](t, ctx, fmt.Sprintf(`!!document.querySelector('a[href="/sagas/%s"]') && !!document.querySelector('a[href="/sagas/%s"]')`, id, other)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sagas %s and %s never both listed as PARKED", id, other)
		}
		time.Sleep(time.Second)
	}
	e.shot(t, ctx, "console-sagas")
	e.narrow(t, ctx, "console-sagas")
	do(t, ctx, "open the saga", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/sagas/%s"]`, id))))
	waitFor(t, ctx, "the parked saga", `document.querySelector('#saga-status') && document.querySelector('#saga-status').textContent === 'PARKED'`, 10*time.Second)
	e.shot(t, ctx, "console-saga-parked")
	e.shop.Gateway.SetFaults(payadapters.Faults{}) // the provider is fixed
	tabTo(t, ctx, "retry")
	do(t, ctx, "press Enter on Retry", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, "the saga to compensate (live)", `document.querySelector('#saga-status') && document.querySelector('#saga-status').textContent === 'COMPENSATED'`, 2*time.Minute)
	e.shot(t, ctx, "console-saga")
	inst, _, err := saga.Get(ctx, e.shop.Pool, id)
	if err != nil || inst.Status != saga.StatusCompensated {
		t.Fatalf("saga %s: %v %v", id, inst.Status, err)
	}
	// The other one is put right by hand and resolved with a note.
	do(t, ctx, "the other parked saga", chromedp.Navigate(e.conURL+"/sagas/"+other))
	waitFor(t, ctx, "the resolve form", `!!document.querySelector('#resolve')`, 10*time.Second)
	do(t, ctx, "note", chromedp.SetValue(chromedp.CSS(`input[name=note]`), "refunded by hand"))
	do(t, ctx, "resolve", chromedp.Click(chromedp.CSS(`#resolve`)))
	waitFor(t, ctx, "the saga resolved", `document.querySelector('#saga-status') && document.querySelector('#saga-status').textContent === 'COMPENSATED'`, 30*time.Second)
	if inst, _, err := saga.Get(ctx, e.shop.Pool, other); err != nil || inst.Status != saga.StatusCompensated {
		t.Fatalf("saga %s after resolve: %v %v", other, inst.Status, err)
	}
}

// Rebuild a projection from the console and see its progress.
func (e *env) testRebuild(t *testing.T) {
	ctx := e.tab(t)
	e.login(t, ctx, "/projections")
	waitFor(t, ctx, "the projections table", `!!document.querySelector('#p-order_summaries')`, 10*time.Second)
	do(t, ctx, "rebuild", chromedp.Click(chromedp.CSS(`#rebuild-order_summaries`)))
	waitFor(t, ctx, "the rebuild to finish (live)",
		`(() => { const r = document.querySelector('#p-order_summaries .rebuild'); return !!r && r.dataset.phase === 'swapped' && r.querySelector('progress').value === 100; })()`, 60*time.Second)
	text := eval[string](t, ctx, `document.querySelector('#p-order_summaries .rebuild').innerText`)
	t.Logf("rebuild progress: %s", text)
	if !strings.Contains(text, "(100%)") {
		t.Fatalf("rebuild progress %q: want 100%%", text)
	}
	e.shot(t, ctx, "console-projections")
	e.narrow(t, ctx, "console-projections")
}

// Every other page renders, reads at 390px and is captured.
func (e *env) testPages(t *testing.T) {
	ctx := e.tab(t)
	e.login(t, ctx, "/events")
	waitFor(t, ctx, "events", `document.querySelectorAll('td[data-label=Position] a').length > 0`, 10*time.Second)
	e.shot(t, ctx, "console-events")
	e.narrow(t, ctx, "console-events")
	jsClick(t, ctx, `[...document.querySelectorAll('td[data-label=Position] a')].pop()`)
	waitFor(t, ctx, "the decoded event", `!!document.querySelector('pre') && location.pathname.startsWith('/events/')`, 10*time.Second)
	e.shot(t, ctx, "console-event")
	e.narrow(t, ctx, "console-event")
	jsClick(t, ctx, `document.querySelector('a[href^="/correlation/"]')`)
	waitFor(t, ctx, "the timeline", `document.querySelectorAll('ol.timeline li').length >= 1 && location.pathname.startsWith('/correlation/')`, 10*time.Second)
	e.shot(t, ctx, "console-correlation")
	do(t, ctx, "consumers", chromedp.Navigate(e.conURL+"/consumers"))
	waitFor(t, ctx, "lag rows (live)", `[...document.querySelectorAll('td[data-label=Group]')].some(td => td.textContent.includes('projector'))`, 30*time.Second)
	e.shot(t, ctx, "console-consumers")
	e.narrow(t, ctx, "console-consumers")
	// A subject with two versions, for the diff.
	subject := e.shop.Prefix + "shop.test.Diffed"
	reg := testenv.RegistryClient(t, e.shop.Registry)
	for _, sc := range []string{
		`{"type":"record","name":"Diffed","namespace":"shop.test","fields":[{"name":"id","type":"string"}]}`,
		`{"type":"record","name":"Diffed","namespace":"shop.test","fields":[{"name":"id","type":"string"},{"name":"note","type":"string","default":""}]}`,
	} {
		if _, err := reg.CreateSchema(subject, sc, srclient.Avro); err != nil {
			t.Fatalf("register %s: %v", subject, err)
		}
	}
	do(t, ctx, "schemas", chromedp.Navigate(e.conURL+"/schemas?q="+e.shop.Prefix))
	waitFor(t, ctx, "the event catalog", `document.body.innerText.includes('shop.order.OrderPlaced')`, 10*time.Second)
	e.shot(t, ctx, "console-schemas")
	e.narrow(t, ctx, "console-schemas")
	jsClick(t, ctx, fmt.Sprintf(`document.querySelector('a[href="/schemas/%s"]')`, subject))
	waitFor(t, ctx, "the diff", `[...document.querySelectorAll('pre.diff .add')].some(e => e.textContent.includes('"note"'))`, 10*time.Second)
	e.shot(t, ctx, "console-subject")
}
