package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed dashboards are what users import: they must be exactly what
// this generator writes (run `go run ./dashboards/gen` after a change).
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	for _, o := range outputs {
		want, err := render(o.build())
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", o.file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dashboards/%s differs from the generator's output: run `go run ./dashboards/gen` from the module root and commit the result", o.file)
		}
	}
}
