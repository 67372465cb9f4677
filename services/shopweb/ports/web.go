// Package ports is the shop's web front: server-rendered pages to place,
// confirm, ship and cancel orders, and a server-sent-events stream that shows
// an order's status as the saga moves it.
//
// Optimistic updates are reconciled through the read-your-writes token: after
// a command the page shows the status the command leads to as "pending" and
// asks the query API for the order with the command's position token; until
// the read model has applied it the page says so (with the read model's older
// value beside it), and when the read model lags the order service (the saga
// changed the order since) the page says "read model behind". A stale value is
// never shown without that label.
package ports

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/stratahq/strata/gen/proto/order/v1"
	queryv1 "github.com/stratahq/strata/gen/proto/query/v1"
)

//go:embed templates static
var files embed.FS

// Shop is what the web front needs from the shop's APIs.
type Shop interface {
	Place(ctx context.Context, req *orderv1.PlaceOrderRequest) (*orderv1.CommandResult, error)
	Confirm(ctx context.Context, req *orderv1.ConfirmOrderRequest) (*orderv1.CommandResult, error)
	Ship(ctx context.Context, req *orderv1.ShipOrderRequest) (*orderv1.CommandResult, error)
	Cancel(ctx context.Context, req *orderv1.CancelOrderRequest) (*orderv1.CommandResult, error)
	// Order is the order service's strongly consistent view.
	Order(ctx context.Context, id string) (*orderv1.Order, error)
	// Summary is the read model; with minPosition it waits for that token.
	Summary(ctx context.Context, id, minPosition string) (*queryv1.OrderSummary, error)
	List(ctx context.Context, customer string, n int) ([]*queryv1.OrderSummary, error)
}

// Web serves the pages.
type Web struct {
	shop  Shop
	tmpl  *template.Template
	log   *slog.Logger
	every time.Duration
	wait  time.Duration
	mux   *http.ServeMux
}

// Options tune the web front.
type Options struct {
	Logger    *slog.Logger
	LiveEvery time.Duration // how often the live stream re-reads the order; default 500ms
	TokenWait time.Duration // how long one read waits for a token; default 1s
}

// New builds the handler.
func New(shop Shop, o Options) (*Web, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LiveEvery <= 0 {
		o.LiveEvery = 500 * time.Millisecond
	}
	if o.TokenWait <= 0 {
		o.TokenWait = time.Second
	}
	t, err := template.New("shop").Funcs(template.FuncMap{
		"money": func(minor int64, cur string) string { return fmt.Sprintf("%d.%02d %s", minor/100, minor%100, cur) },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
	}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	w := &Web{shop: shop, tmpl: t, log: o.Logger, every: o.LiveEvery, wait: o.TokenWait, mux: http.NewServeMux()}
	static, _ := fs.Sub(files, "static")
	w.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	w.mux.HandleFunc("GET /{$}", w.home)
	w.mux.HandleFunc("POST /orders", w.place)
	w.mux.HandleFunc("GET /orders/{id}", w.order)
	w.mux.HandleFunc("GET /orders/{id}/live", w.live)
	w.mux.HandleFunc("POST /orders/{id}/{action}", w.act)
	return w, nil
}

func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.Header().Set("Content-Security-Policy", "default-src 'self'")
	w.mux.ServeHTTP(rw, r)
}

func (w *Web) render(rw http.ResponseWriter, name string, data map[string]any) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := w.tmpl.ExecuteTemplate(rw, name, data); err != nil {
		w.log.Error("shopweb render", "template", name, "err", err)
	}
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	customer := r.URL.Query().Get("customer")
	data := map[string]any{"Customer": customer, "Error": r.URL.Query().Get("error")}
	list, err := w.shop.List(ctx, customer, 20)
	if err != nil {
		data["ListError"] = describe(err)
	}
	data["Orders"] = list
	w.render(rw, "home.html", data)
}

func (w *Web) place(rw http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	qty, _ := strconv.Atoi(r.PostFormValue("quantity"))
	price, err := parseMoney(r.PostFormValue("price"))
	if err != nil {
		http.Redirect(rw, r, "/?error="+escape(err.Error()), http.StatusSeeOther)
		return
	}
	cur := strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency")))
	method := orderv1.ShippingMethod(orderv1.ShippingMethod_value[r.PostFormValue("shipping")])
	req := &orderv1.PlaceOrderRequest{
		CommandId: commandID(r), CustomerId: strings.TrimSpace(r.PostFormValue("customer")), CurrencyCode: cur,
		Items:          []*orderv1.OrderItem{{ProductId: strings.TrimSpace(r.PostFormValue("product")), Quantity: int32(qty), UnitPrice: &orderv1.Money{CurrencyCode: cur, AmountMinor: price}}},
		ShippingMethod: method,
		ShippingAddress: &orderv1.Address{Recipient: r.PostFormValue("recipient"), Line1: r.PostFormValue("line1"),
			City: r.PostFormValue("city"), PostalCode: r.PostFormValue("postal"), CountryCode: strings.ToUpper(r.PostFormValue("country"))},
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := w.shop.Place(ctx, req)
	if err != nil {
		http.Redirect(rw, r, "/?error="+escape("Order not placed: "+describe(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, orderURL(res, "PLACED", "Order placed."), http.StatusSeeOther)
}

func orderURL(res *orderv1.CommandResult, expect, msg string) string {
	return "/orders/" + res.GetOrderId() + "?after=" + escape(res.GetPosition()) + "&expect=" + expect +
		"&v=" + strconv.FormatInt(res.GetVersion(), 10) + "&msg=" + escape(msg)
}

// act is confirm, ship or cancel.
func (w *Web) act(rw http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var res *orderv1.CommandResult
	var err error
	var expect, msg string
	switch action {
	case "confirm":
		expect, msg = "CONFIRMED", "Confirmation sent."
		res, err = w.shop.Confirm(ctx, &orderv1.ConfirmOrderRequest{CommandId: commandID(r), OrderId: id, PaymentId: "manual", ReservationId: "manual"})
	case "ship":
		expect, msg = "SHIPPED", "Shipment recorded."
		res, err = w.shop.Ship(ctx, &orderv1.ShipOrderRequest{CommandId: commandID(r), OrderId: id,
			Carrier: r.PostFormValue("carrier"), TrackingNumber: r.PostFormValue("tracking")})
	case "cancel":
		expect, msg = "CANCELLED", "Cancellation sent."
		res, err = w.shop.Cancel(ctx, &orderv1.CancelOrderRequest{CommandId: commandID(r), OrderId: id, Reason: r.PostFormValue("reason")})
	default:
		http.NotFound(rw, r)
		return
	}
	if err != nil {
		http.Redirect(rw, r, "/orders/"+id+"?error="+escape("Could not "+action+": "+describe(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, orderURL(res, expect, msg), http.StatusSeeOther)
}

// commandID: the form's command id (a reload of the same form is idempotent)
// or a new one.
func commandID(r *http.Request) string {
	if id := r.PostFormValue("command_id"); id != "" {
		return id
	}
	return uuid.NewString()
}

func (w *Web) order(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	v := w.view(r.Context(), id, q.Get("after"), q.Get("expect"))
	live := "/orders/" + id + "/live?after=" + escape(q.Get("after")) + "&expect=" + escape(q.Get("expect"))
	w.render(rw, "order.html", map[string]any{"ID": id, "V": v, "Live": live, "Msg": q.Get("msg"), "Error": q.Get("error"),
		"CommandID": uuid.NewString()})
}

// View is what the order page shows now.
type View struct {
	State    string // current, pending (token not applied yet), behind (read model older than the order), missing
	Status   string // the status shown: the read model's, or the expected one while pending
	Expected string
	Note     string
	Summary  *queryv1.OrderSummary
	Order    *orderv1.Order // the order service's view (for the "behind" comparison)
	Error    string
}

func (w *Web) view(ctx context.Context, id, token, expect string) View {
	v := View{Expected: expect}
	if token != "" {
		tctx, cancel := context.WithTimeout(ctx, w.wait)
		sum, err := w.shop.Summary(tctx, id, token)
		cancel()
		if err != nil && !isWait(err) {
			v.Error = describe(err)
		}
		if err == nil {
			v.Summary = sum
			token = "" // reached
		}
	}
	if v.Summary == nil {
		sctx, cancel := context.WithTimeout(ctx, w.wait)
		sum, err := w.shop.Summary(sctx, id, "")
		cancel()
		if err == nil {
			v.Summary = sum
		} else if status.Code(err) != codes.NotFound && v.Error == "" {
			v.Error = describe(err)
		}
	}
	octx, cancel := context.WithTimeout(ctx, w.wait)
	v.Order, _ = w.shop.Order(octx, id)
	cancel()
	rm := ""
	if v.Summary != nil {
		rm = strings.TrimPrefix(v.Summary.GetStatus().String(), "ORDER_STATUS_")
	}
	switch {
	case token != "" && expect != "":
		v.State, v.Status = "pending", expect
		if rm == "" {
			v.Note = "Pending: the read model has not applied this command yet (the order is not in it yet)."
		} else {
			v.Note = fmt.Sprintf("Pending: the read model has not applied this command yet; it still shows %s (version %d).", rm, v.Summary.GetVersion())
		}
	case v.Summary == nil:
		v.State, v.Status = "missing", "UNKNOWN"
		v.Note = "The read model does not have this order yet."
	case v.Order != nil && v.Order.GetVersion() > v.Summary.GetVersion():
		v.State, v.Status = "behind", rm
		v.Note = fmt.Sprintf("Read model behind: it shows version %d; the order is at version %d (%s). Updating…",
			v.Summary.GetVersion(), v.Order.GetVersion(), strings.TrimPrefix(v.Order.GetStatus().String(), "ORDER_STATUS_"))
	default:
		v.State, v.Status = "current", rm
		v.Note = fmt.Sprintf("Up to date (version %d).", v.Summary.GetVersion())
	}
	return v
}

// live streams the order's view every LiveEvery while the page is open.
func (w *Web) live(rw http.ResponseWriter, r *http.Request) {
	fl, ok := rw.(http.Flusher)
	if !ok {
		http.Error(rw, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	id, q := r.PathValue("id"), r.URL.Query()
	token, expect := q.Get("after"), q.Get("expect")
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-store")
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		v := w.view(r.Context(), id, token, expect)
		if v.State != "pending" {
			token = "" // reached: from now on follow the read model
		}
		var buf strings.Builder
		if err := w.tmpl.ExecuteTemplate(&buf, "status", map[string]any{"V": v}); err != nil {
			w.log.Error("shopweb live", "err", err)
			return
		}
		fmt.Fprint(rw, "event: order\n")
		for _, line := range strings.Split(buf.String(), "\n") {
			fmt.Fprintf(rw, "data: %s\n", line)
		}
		fmt.Fprint(rw, "\n")
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}

func isWait(err error) bool {
	c := status.Code(err)
	return c == codes.DeadlineExceeded || c == codes.NotFound || errors.Is(err, context.DeadlineExceeded)
}

func describe(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}

func parseMoney(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("price %q: at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 {
		return 0, fmt.Errorf("price %q: want an amount like 12.50", s)
	}
	return w*100 + f, nil
}

func escape(s string) string { return url.QueryEscape(s) }
