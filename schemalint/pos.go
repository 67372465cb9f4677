package schemalint

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// lineIndex maps JSON pointers ("/fields/2/default") of one JSON document to
// the 1-based line where that member's key (or that array element) starts.
type lineIndex map[string]int

// indexLines scans data token by token. It never fails: whatever could be
// scanned before a syntax error is indexed.
func indexLines(data []byte) lineIndex {
	idx := lineIndex{"": 1}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	lineAt := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return bytes.Count(data[:off], []byte{'\n'}) + 1
	}
	// Each frame is one open object or array.
	type frame struct {
		ptr     string
		isArray bool
		next    int  // next array index
		wantKey bool // object: the next string token is a key
	}
	var stack []*frame
	// startValue records the line of a value about to start at path ptr.
	startValue := func(off int64) string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.isArray {
			p := top.ptr + "/" + strconv.Itoa(top.next)
			top.next++
			// off is where the previous token ended; the element starts
			// after the separator and whitespace.
			idx[p] = lineAt(skipSpace(data, off))
			return p
		}
		return ""
	}
	var pendingKey string // pointer of the member whose value comes next
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return idx
			}
			return idx
		}
		var ptr string
		if len(stack) > 0 && !stack[len(stack)-1].isArray && stack[len(stack)-1].wantKey {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				key, _ := tok.(string)
				top := stack[len(stack)-1]
				pendingKey = top.ptr + "/" + escape(key)
				idx[pendingKey] = lineAt(skipSpace(data, before))
				top.wantKey = false
				continue
			}
		}
		if len(stack) > 0 && !stack[len(stack)-1].isArray {
			ptr = pendingKey
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				stack[len(stack)-1].wantKey = true
			}
		} else if d, ok := tok.(json.Delim); !ok || (d != ']' && d != '}') {
			ptr = startValue(before)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{ptr: ptr, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{ptr: ptr, isArray: true})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && !stack[len(stack)-1].isArray {
				stack[len(stack)-1].wantKey = true
			}
		}
	}
}

// skipSpace returns the offset of the first byte at or after off that is
// neither white space nor a separator.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// line returns the line of ptr, or of its nearest ancestor that is indexed.
func (idx lineIndex) line(ptr string) int {
	for {
		if l, ok := idx[ptr]; ok {
			return l
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return 1
		}
		ptr = ptr[:i]
	}
}

// escape is JSON pointer escaping of one reference token.
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// offsetLine is the line of a byte offset (syntax errors).
func offsetLine(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}
