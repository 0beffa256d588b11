package provider

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The token response writer's JSON is byte for byte what encoding/json's Encoder writes.
func TestAppendJSONObjectMatchesEncodingJSON(t *testing.T) {
	for _, data := range []map[string]interface{}{
		{},
		{"access_token": "abc.DEF-_~+/=", "token_type": "Bearer", "expires_in": int64(3600), "scope": "read write"},
		{"error": "invalid_client", "error_description": `a "quoted" <b>&\ é` + "\n\x01\x7f"},
		{"n": 42, "f": 1.5, "b": true, "nil": nil, "list": []string{"a"}},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(data); err != nil {
			t.Fatal(err)
		}
		if got := appendJSONObject(nil, data); string(got) != want.String() {
			t.Errorf("got  %s\nwant %s", got, want.String())
		}
	}
}
