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
streams already restored are skipped. Progress goes to stderr, a JSON summary
to stdout. DIR defaults to $STRATA_ARCHIVE_DIR.`,
		Args: clikit.ExactArgs(1, "want exactly one ARCHIVE_ID (or a path to it)"),
	}
	dbURL := clikit.DatabaseURL(cmd)
	dir := cmd.Flags().String("dir", os.Getenv("STRATA_ARCHIVE_DIR"), "archive directory (env STRATA_ARCHIVE_DIR)")
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
		res, err := a.Restore(ctx, args[0], cliarchive.Progress(cmd.ErrOrStderr(), "restore"))
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"archive_id": res.ArchiveID, "restored": len(res.Restored),
			"skipped": len(res.Skipped), "events": res.Events})
	}
	return cmd
}
