package schemalint

import "testing"

func TestIndexLines(t *testing.T) {
	data := []byte(`{
  "type": "record",
  "name": "A",
  "fields": [
    {"name": "x", "type": "int"},
    {
      "name": "y",
      "type": ["null", "string"],
      "default": null
    }
  ]
}`)
	idx := indexLines(data)
	for ptr, want := range map[string]int{
		"":                  1,
		"/type":             2,
		"/name":             3,
		"/fields":           4,
		"/fields/0":         5,
		"/fields/0/type":    5,
		"/fields/1":         6,
		"/fields/1/name":    7,
		"/fields/1/type":    8,
		"/fields/1/type/1":  8,
		"/fields/1/default": 9,
		"/fields/1/doc":     6, // missing: nearest ancestor
		"/fields/7/type":    4,
	} {
		if got := idx.line(ptr); got != want {
			t.Errorf("line(%q) = %d, want %d", ptr, got, want)
		}
	}
}
