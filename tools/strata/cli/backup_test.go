package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stratahq/strata/tools/strata/cli/backup"
)

func TestBackupVerify(t *testing.T) {
	if _, err := exec.LookPath("pg_dump"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pg_dump not installed (ci/stack.sh installs PostgreSQL with its client tools)")
		}
		t.Skip("pg_dump not installed")
	}
	url, _, _, _ := opsStore(t)
	code, out, errOut := run(t, "backup", "verify", "--database-url", url)
	var rep backup.BackupReport
	if code != ExitOK || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || rep.Streams != 1 || rep.Events != 2 ||
		rep.Tables["events"] != 2 || rep.Tables["event_schemas"] != 2 {
		t.Fatalf("backup verify: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, step := range []string{"pg_dump", "pg_restore", "dropping"} {
		if !strings.Contains(errOut, step) {
			t.Fatalf("no %q progress:\n%s", step, errOut)
		}
	}
}
