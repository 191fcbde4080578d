package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// JWT is a decoded JSON Web Token. camctl never checks the signature: the
// server does that. It only reads the claims to know when a token expires
// and to show them with `camctl token --decode`.
type JWT struct {
	Header map[string]any
	Claims map[string]any
}

// ErrNotJWT means the token is opaque: not three base64url JSON parts.
var ErrNotJWT = errors.New("the token is not a JWT")

// DecodeJWT decodes the header and claims of token.
func DecodeJWT(token string) (*JWT, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrNotJWT
	}
	var j JWT
	for i, dst := range []*map[string]any{&j.Header, &j.Claims} {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
		if err != nil {
			return nil, fmt.Errorf("%w: part %d is not base64url", ErrNotJWT, i+1)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		// Decode alone stops after the first value: a part with anything
		// after its object is corrupt, and its exp not to be trusted.
		if err := dec.Decode(dst); err != nil || *dst == nil || dec.InputOffset() != int64(len(bytes.TrimRight(raw, " \t\r\n"))) {
			return nil, fmt.Errorf("%w: part %d is not a JSON object", ErrNotJWT, i+1)
		}
	}
	return &j, nil
}

// Time returns a NumericDate claim (exp, iat, nbf).
func (j *JWT) Time(claim string) (time.Time, bool) {
	n, ok := j.Claims[claim].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 1 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
}
