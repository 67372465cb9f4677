package projection_test

import (
	"fmt"

	"github.com/stratahq/strata/projection"
)

// A command's reply carries the position of its last event as an opaque
// token; a query given the token waits until its read model has applied it
// (read-your-writes).
func ExampleToken() {
	tok := projection.Token{StreamID: "account-acc-1", Version: 3, Cursor: "812:40"}
	s := tok.String()
	fmt.Println(s)
	back, err := projection.ParseToken(s)
	fmt.Println(back.StreamID, back.Version, back.Cursor, err)
	// Output:
	// p1.YWNjb3VudC1hY2MtMQozCjgxMjo0MA
	// account-acc-1 3 812:40 <nil>
}
