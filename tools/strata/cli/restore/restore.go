// Package restore is `strata restore`: bring an archive's streams back into
// the event store.
package restore

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/stratahq/strata/eventstore/archive"
	cliarchive "github.com/stratahq/strata/tools/strata/cli/archive"
	"github.com/stratahq/strata/tools/strata/cli/clikit"
)

// Command is `strata restore ARCHIVE_ID [--dir DIR]`.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore ARCHIVE_ID",
		Short: "bring an archive's streams back into the event store",
		Long: `Verifies the archive and puts its streams back with their original positions;
streams already restored are skipped. A stream is refused when a reader (a
subscription or relay checkpoint) passed its place in the global log while it
was archived: that reader would never see it (rewind the reader, or
--ignore-readers). Progress goes to stderr, a JSON summary
to stdout. DIR defaults to $STRATA_ARCHIVE_DIR.`,
		Args: clikit.ExactArgs(1, "want exactly one ARCHIVE_ID (or a path to it)"),
	}
	dbURL := clikit.DatabaseURL(cmd)
	dir := cmd.Flags().String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (env STRATA_ARCHIVE_DIR)")
	ignoreReaders := cmd.Flags().Bool("ignore-readers", false, "restore even below readers (checkpoints) that passed the streams' place while they were archived; they will not see them")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		pool, store, err := clikit.OpenStore(ctx, *dbURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		a, err := archive.New(store, archive.Config{Dir: *dir})
		if err != nil {
			return clikit.Unavailable(err)
		}
		res, err := a.RestoreWith(ctx, args[0], archive.RestoreOptions{IgnoreReaders: *ignoreReaders}, cliarchive.Progress(cmd.ErrOrStderr(), "restore"))
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"archive_id": res.ArchiveID, "restored": len(res.Restored),
			"skipped": len(res.Skipped), "events": res.Events})
	}
	return cmd
}
