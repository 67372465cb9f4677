package messaging

import (
	"encoding/binary"
	"fmt"
)

// The Confluent wire format: magic byte 0, the schema id as a 4-byte
// big-endian integer, then the Avro binary body.
const (
	wireMagic  = 0
	wireHeader = 5
)

// AppendWire appends the Confluent wire framing of an Avro body written with
// the registry schema id to dst and returns the extended slice.
func AppendWire(dst []byte, schemaID uint32, body []byte) []byte {
	dst = append(dst, wireMagic, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], schemaID)
	return append(dst, body...)
}

// ParseWire splits a Confluent wire-format value into its schema id and Avro
// body (which aliases b). It fails with ErrNotWireFormat.
func ParseWire(b []byte) (schemaID uint32, body []byte, err error) {
	if len(b) < wireHeader {
		return 0, nil, fmt.Errorf("%d bytes, need at least %d: %w", len(b), wireHeader, ErrNotWireFormat)
	}
	if b[0] != wireMagic {
		return 0, nil, fmt.Errorf("magic byte %d: %w", b[0], ErrNotWireFormat)
	}
	return binary.BigEndian.Uint32(b[1:5]), b[wireHeader:], nil
}
