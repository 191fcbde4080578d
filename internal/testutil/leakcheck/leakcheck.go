// Package leakcheck helps tests prove that a message does not echo a
// secret, not even in part: parsers and servers shorten what they quote,
// and a password's first characters are already too much.
package leakcheck

import (
	"strings"
	"unicode/utf8"
)

// Run is how many characters of a secret count as a leak.
const Run = 6

// Other has the shape of secret but none of its characters. A message
// made for Other(secret) shows which text is fixed wording rather than an
// echo of the secret.
func Other(secret string) string { return strings.Repeat("Q", utf8.RuneCountInString(secret)) }

// Leaked returns a run of Run characters of secret that msg holds and
// fixed (the message for Other(secret), or "") does not; "" when there is
// none.
func Leaked(msg, fixed, secret string) string {
	r := []rune(secret)
	for i := 0; i+Run <= len(r); i++ {
		if w := string(r[i : i+Run]); strings.Contains(msg, w) && !strings.Contains(fixed, w) {
			return w
		}
	}
	return ""
}
