package cli

import "context"

func runSchemaCatalog(ctx context.Context, stdio IO, args []string) int { return ExitUsage }
