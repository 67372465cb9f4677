package serde

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNotWireFormat is returned (wrapped in a [*WireFormatError]) by
// [ParseWire] for a message that is too short or has a bad magic byte.
var ErrNotWireFormat = errors.New("serde: not Confluent wire format")

// WireFormatError says why a message is not in the Confluent wire format.
type WireFormatError struct {
	Len   int  // length of the message
	Magic byte // first byte, when there is one
	Short bool // shorter than the 5-byte header
}

func (e *WireFormatError) Error() string {
	if e.Short {
		return fmt.Sprintf("serde: not Confluent wire format: %d bytes, want at least %d", e.Len, WireHeaderLen)
	}
	return fmt.Sprintf("serde: not Confluent wire format: magic byte %#x, want 0x0", e.Magic)
}

// Unwrap returns [ErrNotWireFormat].
func (e *WireFormatError) Unwrap() error { return ErrNotWireFormat }

// WireHeaderLen is the length of the Confluent wire header: magic byte 0 and
// a 4-byte big-endian schema id.
const WireHeaderLen = 5

// AppendWire appends the Confluent wire frame of body to dst: magic byte 0,
// schemaID as 4 bytes big-endian, then body. Ids are 32-bit; larger values are
// truncated, as the registry never issues them.
func AppendWire(dst []byte, schemaID int, body []byte) []byte {
	dst = appendHeader(dst, schemaID)
	return append(dst, body...)
}

func appendHeader(dst []byte, schemaID int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, 0), uint32(schemaID))
}

// ParseWire splits a Confluent wire-format message into its schema id and
// Avro body. body aliases msg. An empty body is valid (a record with no
// fields encodes to nothing).
func ParseWire(msg []byte) (schemaID int, body []byte, err error) {
	if len(msg) < WireHeaderLen {
		e := &WireFormatError{Len: len(msg), Short: true}
		if len(msg) > 0 {
			e.Magic = msg[0]
		}
		return 0, nil, e
	}
	if msg[0] != 0 {
		return 0, nil, &WireFormatError{Len: len(msg), Magic: msg[0]}
	}
	return int(binary.BigEndian.Uint32(msg[1:WireHeaderLen])), msg[WireHeaderLen:], nil
}
