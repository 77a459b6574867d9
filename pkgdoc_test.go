package sov

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs checks that every package has exactly one package doc
// comment, so that `go doc` says what each package is for.
func TestPackageDocs(t *testing.T) {
	docs := map[string][]string{} // dir → files with a package doc comment
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || (strings.HasPrefix(name, ".") && name != ".") {
				return filepath.SkipDir
			}
			if _, ok := docs[path]; !ok {
				docs[path] = nil
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		if f.Doc != nil {
			docs[dir] = append(docs[dir], filepath.Base(path))
		} else if _, ok := docs[dir]; !ok {
			docs[dir] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, files := range docs {
		if !hasGoFiles(t, dir) {
			continue
		}
		if len(files) != 1 {
			t.Errorf("package %s has %d package doc comments (%v), want exactly 1", dir, len(files), files)
		}
	}
}

func hasGoFiles(t *testing.T, dir string) bool {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		if !strings.HasSuffix(m, "_test.go") {
			return true
		}
	}
	return false
}
