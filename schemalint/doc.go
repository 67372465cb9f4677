// Package schemalint loads a folder of Avro contracts (.avsc files, one
// named type per file, one folder per domain) and checks them against
// Strata's rules. It backs `strata schema lint`, and its loader backs the
// other `strata schema` commands.
//
//	set, err := schemalint.Load(os.DirFS("."), "schemas/avro")
//	for _, f := range schemalint.Lint(set, schemalint.Options{NamespacePrefix: "bank"}) {
//		fmt.Println(f) // schemas/avro/ledger/Deposited.avsc:9: DOC field cents has no doc
//	}
//
// Load parses every file into a self-contained schema (File.Text, File.Schema):
// a type defined in another file of the set is inlined at its first use, so a
// file may refer to bank.ledger.Address by name. Files that no other file
// references and that define records are the registry subjects
// (Set.Subjects).
//
// Lint rules (each finding is "path:line: RULE message", the line being that
// of the offending JSON key):
//
//	PARSE      not JSON, not a valid Avro schema, or an unknown type name
//	LAYOUT     one named type per file, named <Name>.avsc, inside a domain folder
//	NAME       names, namespaces, aliases and enum symbols are valid Avro names
//	NAMESPACE  the types of folder <domain> are in namespace <prefix>.<domain>
//	DOC        records, enums and fields have a non-empty doc
//	DEFAULT    defaults are valid for their type (checked here, not by hamba/avro,
//	           which accepts e.g. 1.5 for an int and truncates it)
//	NULLABLE   a nullable field is ["null", T] with "default": null
//	DUPLICATE  a full name is defined once in the whole set
//	NAME_STYLE TypeNames PascalCase, field_names snake_case, SYMBOLS upper case
package schemalint
