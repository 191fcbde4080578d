package auth

import (
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/config"
)

// The store keys of profile secrets never collide: not between profiles
// (profile id "a" with a setting cannot spell id "a/b"'s key, since ids
// hold no '/'), not between config files, not with the name-keyed items
// of earlier versions, not with cached tokens, and not with the "#n"
// parts of a chunked value.
func TestSecretKeysCannotCollide(t *testing.T) {
	names := []string{"a", "b", "ab", "a-b", "a_b", "profile", "config", "token", "auth", "0", strings.Repeat("z", 63)}
	namespaces := []string{"", config.SecretNamespace("/elsewhere/camctl.yaml", func(string) string { return "" })}
	seen := map[string]string{}
	for _, ns := range namespaces {
		s := &Secrets{Namespace: ns}
		for _, name := range names {
			if err := config.ValidateName(name); err != nil {
				t.Fatalf("test name %q is invalid: %v", name, err)
			}
			for _, key := range SecretKeys() {
				k := s.key(name, key)
				who := ns + " " + name + " " + string(key)
				if prev, dup := seen[k]; dup {
					t.Errorf("%s and %s share the store key %q", prev, who, k)
				}
				seen[k] = who
				legacy := s.legacyKey(name, key)
				if prev, dup := seen[legacy]; dup {
					t.Errorf("%s and the name-keyed item of %s share the store key %q", prev, who, legacy)
				}
				seen[legacy] = "name-keyed " + who
				if err := checkKey(k); err != nil {
					t.Errorf("%s: %v", who, err)
				}
				// The key splits back into exactly its parts.
				rest, ok := strings.CutPrefix(k, ns+"id/")
				gotName, gotKey, _ := strings.Cut(rest, "/")
				if !ok || gotName != name || gotKey != string(key) {
					t.Errorf("key %q does not split back into %q and %q", k, name, key)
				}
			}
		}
	}
	token := tokenStoreKey(TokenKey{TokenURL: "https://idp/token", ClientID: "a"})
	for k := range seen {
		if k == token || strings.HasPrefix(k, "token/") {
			t.Errorf("secret key %q can collide with cached tokens (%q)", k, token)
		}
		for i := 1; i <= maxParts; i++ {
			if who, ok := seen[partKey(k, i)]; ok {
				t.Errorf("part %d of %q is the key of %s", i, k, who)
			}
		}
	}
	// Every secret setting's name is free of the separators.
	for _, key := range SecretKeys() {
		if strings.ContainsAny(string(key), "/#") {
			t.Errorf("secret setting %q contains a separator", key)
		}
	}
}
