package kea

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseStatusGet feeds arbitrary answers to the status-get parser,
// seeded with every real and documented answer in testdata. It must never
// panic, and whatever it accepts must carry a local state per relationship.
func FuzzParseStatusGet(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	recorded, _ := filepath.Glob("testdata/recorded/*.json")
	for _, name := range append(files, recorded...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"result":0,"arguments":{"high-availability":[{"ha-servers":{"local":{"state":"x"},"remote":{}}}]}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseHAHeartbeat(b)
		st, err := ParseStatusGet(b)
		if err != nil {
			if st != nil {
				t.Fatal("status and error")
			}
			return
		}
		if len(st.Relationships) == 0 {
			t.Fatal("accepted with no relationship")
		}
		for _, r := range st.Relationships {
			if r.Local.State == "" {
				t.Fatal("accepted with an empty local state")
			}
		}
	})
}
