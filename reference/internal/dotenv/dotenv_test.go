package dotenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `# the seed's file
CLIENT_ID="this-client-id-is-for-demo-only"
export CLIENT_SECRET='s3cret # not a comment'
PLAIN=value # a comment
EMPTY=
`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CLIENT_ID":     "this-client-id-is-for-demo-only",
		"CLIENT_SECRET": "s3cret # not a comment",
		"PLAIN":         "value",
		"EMPTY":         "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := Parse(strings.NewReader("not a pair\n")); err == nil {
		t.Error("a line without = parsed")
	}
}

func TestGetenvPrefersTheEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("A=file\nB=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"A": "env"}
	get, err := Getenv(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if get("A") != "env" || get("B") != "file" || get("C") != "" {
		t.Errorf("A=%q B=%q C=%q", get("A"), get("B"), get("C"))
	}
	if _, err := Getenv(filepath.Join(t.TempDir(), "missing"), os.Getenv); err != nil {
		t.Errorf("a missing file is an error: %v", err)
	}
}
