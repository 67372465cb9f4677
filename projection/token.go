package projection

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrBadToken: a position token that does not parse.
var ErrBadToken = errors.New("projection: malformed position token")

// ErrNotReached: a wait for a position token timed out.
var ErrNotReached = errors.New("projection: position not reached in time")

// Token is a read-your-writes position: a command's last event is version
// Version of stream StreamID, at global-log cursor Cursor ("txid:position").
// A read model has "reached" the token once it applied that version of that
// stream; since Kafka orders per key (stream), this is exact, unlike a global
// position compared across partitions.
type Token struct {
	StreamID string
	Version  int64
	Cursor   string
}

// String encodes the token as an opaque string: "p1." + base64url(stream \n version \n cursor).
func (t Token) String() string {
	raw := t.StreamID + "\n" + strconv.FormatInt(t.Version, 10) + "\n" + t.Cursor
	return "p1." + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseToken reads a token written by Token.String.
func ParseToken(s string) (Token, error) {
	body, ok := strings.CutPrefix(s, "p1.")
	if !ok {
		return Token{}, fmt.Errorf("%w: %q", ErrBadToken, s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	parts := strings.Split(string(raw), "\n")
	if len(parts) != 3 || parts[0] == "" {
		return Token{}, fmt.Errorf("%w: %q", ErrBadToken, s)
	}
	v, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || v < 1 {
		return Token{}, fmt.Errorf("%w: version %q", ErrBadToken, parts[1])
	}
	return Token{StreamID: parts[0], Version: v, Cursor: parts[2]}, nil
}

// Reached reports whether the named projection has applied the token.
func (r *Runner) Reached(ctx context.Context, name string, t Token) (bool, error) {
	p, err := r.Projection(name)
	if err != nil {
		return false, err
	}
	var v int64
	err = r.pool.QueryRow(ctx, `SELECT version FROM `+liveTables(p).Get(streamsTable(p))+` WHERE stream_id = $1`, t.StreamID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("projection %s: reached: %w", name, err)
	}
	return v >= t.Version, nil
}

// WaitFor polls until the projection reached t, at most timeout (and no
// longer than ctx). It returns ErrNotReached when time runs out.
func (r *Runner) WaitFor(ctx context.Context, name string, t Token, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		ok, err := r.Reached(ctx, name, t)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w: %s has not applied %s version %d within %v", ErrNotReached, name, t.StreamID, t.Version, timeout)
		}
		tm := time.NewTimer(min(delay, left))
		select {
		case <-ctx.Done():
			tm.Stop()
			return fmt.Errorf("projection %s: wait: %w", name, ctx.Err())
		case <-tm.C:
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
}
