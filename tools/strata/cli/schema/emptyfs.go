package schema

import (
	"io/fs"
	"time"
)

// emptyFS is a file system holding one empty root folder.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return emptyDir{}, nil
}

type emptyDir struct{}

func (emptyDir) Stat() (fs.FileInfo, error) { return emptyDir{}, nil }
func (emptyDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: fs.ErrInvalid}
}
func (emptyDir) Close() error                       { return nil }
func (emptyDir) ReadDir(int) ([]fs.DirEntry, error) { return nil, nil }
func (emptyDir) Name() string                       { return "." }
func (emptyDir) Size() int64                        { return 0 }
func (emptyDir) Mode() fs.FileMode                  { return fs.ModeDir | 0o555 }
func (emptyDir) ModTime() time.Time                 { return time.Time{} }
func (emptyDir) IsDir() bool                        { return true }
func (emptyDir) Sys() any                           { return nil }
