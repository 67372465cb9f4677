// Package client builds the one schema registry client every Strata
// component uses (the relay, the consumers, the saga service, the CLI): a
// github.com/riferrei/srclient client for any Confluent-compatible registry,
// configured with credentials and TLS through srclient's own credential and
// HTTP-client options.
//
// Configuration comes from the environment (FromEnv) or a Config:
//
//	SCHEMA_REGISTRY_URL                        the registry (userinfo in it is taken as basic-auth credentials and removed)
//	SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO       user:password (Confluent's basic.auth.user.info)
//	SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE  a file holding user:password
//	SCHEMA_REGISTRY_BEARER_TOKEN               a bearer token (or _FILE: a file holding it)
//	SCHEMA_REGISTRY_TLS_CA                     PEM file of the CAs to trust (default: the system's)
//	SCHEMA_REGISTRY_TLS_CERT, _TLS_KEY         PEM client certificate and key (mutual TLS)
//	SCHEMA_REGISTRY_TLS_SERVER_NAME            the name to verify the server's certificate against
//	SCHEMA_REGISTRY_TIMEOUT                    per request (Go duration; default 10s)
//
// Start with
//
//	cfg, err := client.FromEnv()
//	c, err := client.New(cfg)          // *srclient.SchemaRegistryClient
//	_, err = c.GetSchema(id)
//	if client.IsNotFound(err) { ... }
//
// Every error answer of the registry reaches the caller as an srclient.Error
// carrying Confluent's error_code (an answer that is not Confluent's JSON,
// such as a proxy's 401 page, gets its HTTP status as the code), so Code,
// IsNotFound, IsIncompatible and IsUnauthorized work on all of them.
package client
