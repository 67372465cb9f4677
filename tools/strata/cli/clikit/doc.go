// Package clikit holds what every strata command shares: exit codes and the
// errors that carry them, the program runner that maps them, the -o
// table|json output convention, and the common connection flags
// (--database-url, --brokers, -X, --registry) with their environment
// defaults.
//
// An area of the CLI is a package under tools/strata/cli exporting
// Command() *cobra.Command. Its RunE returns nil on success, a UsageError
// (Usagef) for a bad invocation (exit 2, message and usage on stderr), an
// error made with Exit for an explicit exit code, or any other error (exit 1,
// message on stderr). Output goes to cmd.OutOrStdout(), diagnostics to
// cmd.ErrOrStderr().
package clikit
