package registry

import "testing"

func fingerprint(t *testing.T, text string, refs ...Reference) [32]byte {
	t.Helper()
	a, err := parseAvro(text, nil)
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	s := &Schema{Type: SchemaTypeAvro, Text: text, Avro: a, References: refs}
	if err := s.identify(); err != nil {
		t.Fatal(err)
	}
	return s.Fingerprint
}

// TestSameSchema pins down what "the same schema" means (see identify).
func TestSameSchema(t *testing.T) {
	const base = `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`
	same := map[string]string{
		"whitespace and attribute order": `{ "fields": [ {"default": 1, "type": "int", "name": "a"}, {"name":"e","type":{"symbols":["X","Y"],"type":"enum","name":"E","default":"X"}}, {"name":"t","type":{"logicalType":"timestamp-millis","type":"long"}} ], "name": "R", "type": "record", "namespace": "n" }`,
		"full name instead of namespace": `{"type":"record","name":"n.R","fields":[{"name":"a","type":"int","default":1},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"doc strings":                    `{"type":"record","name":"R","namespace":"n","doc":"d","fields":[{"name":"a","type":"int","default":1,"doc":"x"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X","doc":"y"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"custom properties":              `{"type":"record","name":"R","namespace":"n","owner":"team","fields":[{"name":"a","type":"int","default":1,"pii":false},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"field sort order":               `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1,"order":"descending"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
	}
	different := map[string]string{
		"another field default":   `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":2},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"no field default":        `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"another enum default":    `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"Y"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"another logical type":    `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-micros"}}]}`,
		"no logical type":         `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":"long"}]}`,
		"a field alias":           `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1,"aliases":["old"]},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"another namespace":       `{"type":"record","name":"R","namespace":"m","fields":[{"name":"a","type":"int","default":1},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
		"fields in another order": `{"type":"record","name":"R","namespace":"n","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}},{"name":"a","type":"int","default":1},{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}`,
	}
	want := fingerprint(t, base)
	for name, text := range same {
		if fingerprint(t, text) != want {
			t.Errorf("%s: a different schema, want the same", name)
		}
	}
	for name, text := range different {
		if fingerprint(t, text) == want {
			t.Errorf("%s: the same schema, want a different one", name)
		}
	}
	if fingerprint(t, base, Reference{Name: "x.Y", Subject: "x.Y", Version: 1}) == want {
		t.Error("references do not count in the identity")
	}
}

func TestParseAvroRefusesWhatAvroRefuses(t *testing.T) {
	for _, text := range []string{
		`not json`,
		`"nope"`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`,
		`{"type":"record","name":"1R","fields":[]}`,
		`{"type":"enum","name":"E","symbols":["A","A"]}`,
	} {
		if _, err := parseAvro(text, nil); err == nil {
			t.Errorf("parseAvro(%s) accepted", text)
		}
	}
}
