package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// PGCluster is a throwaway PostgreSQL cluster of the test's own (initdb on a
// free port, trust authentication on 127.0.0.1, stopped at cleanup): for
// tests that restore a dump into a new cluster, reset its WAL or stream a
// hot standby from it.
type PGCluster struct {
	Bin  string // PostgreSQL's bin directory (initdb, pg_ctl, pg_dump, ...)
	Data string
	Port int
	t    testing.TB
}

// pgBin finds PostgreSQL's bin directory: the newest
// /usr/lib/postgresql/<v>/bin (Debian), else pg_ctl's on PATH.
func pgBin() (string, error) {
	if ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(ms) > 0 {
		return filepath.Dir(ms[len(ms)-1]), nil
	}
	p, err := exec.LookPath("pg_ctl")
	if err != nil {
		return "", fmt.Errorf("no pg_ctl in /usr/lib/postgresql/*/bin or on PATH")
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return filepath.Dir(p), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// NewPGCluster initialises and starts a cluster. Run as root, it runs the
// servers as the postgres user. Missing binaries skip the test (fail under CI).
func NewPGCluster(t testing.TB) *PGCluster {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		missing(t, "PostgreSQL binaries", err)
	}
	dir, err := os.MkdirTemp("", "strata-pgc-")
	if err != nil {
		t.Fatal(err)
	}
	c := &PGCluster{Bin: bin, Data: filepath.Join(dir, "data"), t: t}
	if err := c.chown(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c.Run("initdb", "-D", c.Data, "-U", "strata", "-A", "trust", "--no-sync")
	c.start(t)
	return c
}

// NewStandby makes a streaming hot standby of c (pg_basebackup -R) and starts it.
func (c *PGCluster) NewStandby(t testing.TB) *PGCluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "strata-pgs-")
	if err != nil {
		t.Fatal(err)
	}
	s := &PGCluster{Bin: c.Bin, Data: filepath.Join(dir, "data"), t: t}
	if err := s.chown(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.Run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "strata", "-D", s.Data, "-R", "-X", "stream", "--no-sync")
	s.start(t)
	return s
}

func (c *PGCluster) start(t testing.TB) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c.Port = port
	c.Run("pg_ctl", "-D", c.Data, "-l", filepath.Join(filepath.Dir(c.Data), "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c wal_level=replica -c hot_standby=on",
			port, filepath.Dir(c.Data)), "start")
	t.Cleanup(func() { c.Stop() })
}

// Stop stops the server (fast); Restart starts it again on a new port.
func (c *PGCluster) Stop() {
	_ = c.command("pg_ctl", "-D", c.Data, "-m", "fast", "-w", "stop").Run()
}

// Restart starts a stopped cluster (on a new free port).
func (c *PGCluster) Restart(t testing.TB) { c.start(t) }

// URL is a connection URL for database db.
func (c *PGCluster) URL(db string) string {
	return fmt.Sprintf("postgres://strata@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Run runs a PostgreSQL program (as the postgres user when root) and fails
// the test when it fails.
func (c *PGCluster) Run(prog string, args ...string) string {
	c.t.Helper()
	cmd := c.command(prog, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *PGCluster) command(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(c.Bin, prog)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (c *PGCluster) chown(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}
