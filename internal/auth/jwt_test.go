package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// b64 is the base64url encoding (no padding) a JWT uses for its parts.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// makeJWT builds an unsigned JWT with the given claims. camctl never
// checks signatures, so "sig" is as good as a real one here.
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return rawJWT(`{"alg":"RS256","typ":"JWT"}`, string(c))
}

// rawJWT builds a JWT from literal JSON texts, for claims json.Marshal
// would not write (exp as 1.7e9, exp with a fraction ...).
func rawJWT(header, claims string) string {
	return b64(header) + "." + b64(claims) + ".sig"
}

func TestDecodeJWT(t *testing.T) {
	tok := rawJWT(`{"alg":"RS256","typ":"JWT","kid":"k1"}`,
		`{"sub":"camctl-ci","aud":["orchestration-api"],"exp":1767225600,"scope":"a b"}`)
	j, err := DecodeJWT(tok)
	if err != nil {
		t.Fatalf("DecodeJWT: %v", err)
	}
	for k, want := range map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"} {
		if got := j.Header[k]; got != want {
			t.Errorf("header %s = %#v, want %q", k, got, want)
		}
	}
	if got := j.Claims["sub"]; got != "camctl-ci" {
		t.Errorf("claim sub = %#v, want camctl-ci", got)
	}
	if got := j.Claims["scope"]; got != "a b" {
		t.Errorf("claim scope = %#v, want \"a b\"", got)
	}
	// Numbers keep their exact text, so `camctl token --decode` shows
	// 1767225600, not 1.7672256e+09.
	if got, ok := j.Claims["exp"].(json.Number); !ok || got.String() != "1767225600" {
		t.Errorf("claim exp = %#v, want json.Number 1767225600", j.Claims["exp"])
	}
	exp, ok := j.Time("exp")
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !ok || !exp.Equal(want) {
		t.Errorf("Time(exp) = %v, %v; want %v, true", exp, ok, want)
	}
	if exp.Location() != time.UTC {
		t.Errorf("Time(exp) location = %v, want UTC", exp.Location())
	}
	// The signature part is not decoded: an empty one (alg none) is fine.
	if _, err := DecodeJWT(b64(`{"alg":"none"}`) + "." + b64(`{"sub":"x"}`) + "."); err != nil {
		t.Errorf("JWT with an empty signature: %v", err)
	}
}

func TestDecodeJWTMalformed(t *testing.T) {
	header, claims := b64(`{"alg":"RS256"}`), b64(`{"sub":"x"}`)
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"one part (opaque token)", "2YotnFZFEjr1zCsicMWpAA"},
		{"two parts", header + "." + claims},
		{"four parts", header + "." + claims + ".sig.extra"},
		{"only dots", ".."},
		{"empty header", "." + claims + ".sig"},
		{"empty claims", header + "..sig"},
		{"header not base64", "!!!." + claims + ".sig"},
		{"claims not base64", header + ".%%%.sig"},
		{"header in standard base64 alphabet", base64.StdEncoding.EncodeToString([]byte(`{"a":"??>"}`)) + "." + claims + ".sig"},
		{"padding inside a part", header[:4] + "=" + header[4:] + "." + claims + ".sig"},
		{"header base64 of non-JSON", b64("hello") + "." + claims + ".sig"},
		{"claims base64 of non-JSON", header + "." + b64("not json") + ".sig"},
		{"header JSON array", b64(`[1,2]`) + "." + claims + ".sig"},
		{"claims JSON array", header + "." + b64(`["exp",1]`) + ".sig"},
		{"claims JSON string", header + "." + b64(`"exp"`) + ".sig"},
		{"claims JSON number", header + "." + b64(`1767225600`) + ".sig"},
		{"claims JSON null", header + "." + b64(`null`) + ".sig"},
		{"header JSON null", b64(`null`) + "." + claims + ".sig"},
		{"truncated claims JSON", header + "." + b64(`{"exp":17`) + ".sig"},
		{"Bearer prefix left on", "Bearer " + header + "." + claims + ".sig"},
		// Found by FuzzDecodeJWT: only the first JSON value was read.
		{"claims with trailing text", header + "." + b64(`{"exp":1767225600}garbage`) + ".sig"},
		{"claims of two objects", header + "." + b64(`{"exp":1}{"exp":2}`) + ".sig"},
		{"header with trailing text", b64(`{"alg":"none"}]`) + "." + claims + ".sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := DecodeJWT(tt.token)
			if !errors.Is(err, ErrNotJWT) {
				t.Fatalf("DecodeJWT(%q) = %v, %v; want an error wrapping ErrNotJWT", tt.token, j, err)
			}
			if j != nil {
				t.Errorf("DecodeJWT(%q) returned %+v with the error, want nil", tt.token, j)
			}
		})
	}
}

// DecodeJWT strips '=' padding at the end of a part before decoding, so
// a token from an IdP that pads its base64url still yields its exp.
// Strict RFC 7515 would call it malformed; being lenient cannot misread
// a token, because '=' can only ever be padding.
func TestDecodeJWTToleratesTrailingPadding(t *testing.T) {
	pad := base64.URLEncoding.EncodeToString
	header, claims := pad([]byte(`{"alg":"none"}`)), pad([]byte(`{"exp": 1767225600}`))
	if !strings.HasSuffix(header, "=") || !strings.HasSuffix(claims, "==") {
		t.Fatalf("test parts %q and %q are not padded", header, claims)
	}
	tok := header + "." + claims + ".sig"
	j, err := DecodeJWT(tok)
	if err != nil {
		t.Fatalf("DecodeJWT(%q): %v", tok, err)
	}
	if exp, ok := j.Time("exp"); !ok || exp.Unix() != 1767225600 {
		t.Errorf("Time(exp) = %v, %v; want 1767225600", exp, ok)
	}
}

func TestJWTTime(t *testing.T) {
	tests := []struct {
		name   string
		claims string // JSON text of the claims
		claim  string
		want   time.Time
		wantOK bool
	}{
		{"integer", `{"exp":1767225600}`, "exp", time.Unix(1767225600, 0), true},
		{"float with fraction", `{"exp":1767225600.5}`, "exp", time.Unix(1767225600, 5e8), true},
		{"float without fraction", `{"exp":1767225600.0}`, "exp", time.Unix(1767225600, 0), true},
		{"exponent notation", `{"exp":1.7672256e9}`, "exp", time.Unix(1767225600, 0), true},
		{"other NumericDate claim (iat)", `{"iat":1767225600,"exp":1767229200}`, "iat", time.Unix(1767225600, 0), true},
		{"year 2286 is still a date", `{"exp":10000000000}`, "exp", time.Unix(10000000000, 0), true},
		{"string (not a NumericDate)", `{"exp":"1767225600"}`, "exp", time.Time{}, false},
		{"absent", `{"sub":"x"}`, "exp", time.Time{}, false},
		{"null", `{"exp":null}`, "exp", time.Time{}, false},
		{"boolean", `{"exp":true}`, "exp", time.Time{}, false},
		{"object", `{"exp":{"v":1}}`, "exp", time.Time{}, false},
		{"zero", `{"exp":0}`, "exp", time.Time{}, false},
		{"negative", `{"exp":-1767225600}`, "exp", time.Time{}, false},
		{"milliseconds instead of seconds", `{"exp":1767225600000}`, "exp", time.Time{}, false},
		{"absurdly large", `{"exp":1e300}`, "exp", time.Time{}, false},
		{"beyond float64", `{"exp":1e400}`, "exp", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := DecodeJWT(rawJWT(`{"alg":"RS256"}`, tt.claims))
			if err != nil {
				t.Fatalf("DecodeJWT: %v", err)
			}
			got, ok := j.Time(tt.claim)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Fatalf("Time(%q) of %s = %v, %v; want %v, %v", tt.claim, tt.claims, got, ok, tt.want, tt.wantOK)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("Time(%q) location = %v, want UTC", tt.claim, got.Location())
			}
			if !ok && !got.IsZero() {
				t.Errorf("Time(%q) = %v with ok false, want the zero time", tt.claim, got)
			}
		})
	}
}

// FuzzDecodeJWT: whatever an IdP or a user hands camctl, decoding never
// panics, every failure is ErrNotJWT (camctl then treats the token as
// opaque) and never quotes the token; what decodes was two JSON objects
// (nothing trailing), survives encoding and decoding again, and its
// NumericDates are plausible.
func FuzzDecodeJWT(f *testing.F) {
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", "2YotnFZFEjr1zCsicMWpAA",
		rawJWT(`{"alg":"RS256"}`, `{"exp":1767225600}`),
		rawJWT(`{"alg":"RS256"}`, `{"exp":"soon"}`),
		rawJWT(`[]`, `{}`),
		rawJWT(`{}`, `null`),
		b64(`{"alg":"none"}`) + "==." + b64(`{}`) + "=.x",
		// Keycloak client-credentials token.
		rawJWT(`{"alg":"RS256","typ":"JWT","kid":"Fq3xNk2"}`, `{"exp":1767229200,"iat":1767225600,"jti":"9c1d","iss":"https://keycloak.internal/auth/realms/camunda-platform","aud":["orchestration-api","account"],"sub":"0f5d","typ":"Bearer","azp":"camctl-ci","acr":"1","scope":"profile email","clientHost":"10.0.0.1","clientId":"camctl-ci"}`) + ".c2ln",
		// Microsoft Entra ID v1 app token.
		rawJWT(`{"typ":"JWT","alg":"RS256","x5t":"kWbk","kid":"kWbk"}`, `{"aud":"api://3f2a6c1e","iss":"https://sts.windows.net/tenant/","iat":1767225600,"nbf":1767225600,"exp":1767229500,"aio":"E2Z","appid":"3f2a6c1e","appidacr":"1","idp":"https://sts.windows.net/tenant/","oid":"7a","rh":"0.AS","roles":["orchestration"],"sub":"7a","tid":"tenant","uti":"x","ver":"1.0"}`),
		// Camunda SaaS token.
		rawJWT(`{"alg":"RS256","typ":"JWT","kid":"QzNF"}`, `{"https://camunda.com/orgId":"0a1b","https://camunda.com/clusterId":"c1","iss":"https://weblogin.cloud.camunda.io/","sub":"x@clients","aud":"zeebe.camunda.io","iat":1767225600,"exp":1767312000,"scope":"Zeebe","gty":"client-credentials","azp":"x"}`),
		rawJWT(`{"alg":"none"}`, `{"exp":1767225600.999999,"nbf":-1,"iat":1e11}`),
		rawJWT(`{"alg":"none"}`, `{"exp":1767225600}garbage`),
		rawJWT(`{"alg":"none"}`, `{"exp":1}{"exp":2}`),
		rawJWT(`{"alg":"none"} `, "{}\n"),
		rawJWT(`{"a":"\u001b[2J"}`, `{"a":{"b":[1,2.50,-0,1E3]}}`),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		j, err := DecodeJWT(token)
		if err != nil {
			if !errors.Is(err, ErrNotJWT) {
				t.Fatalf("DecodeJWT(%q) = %v, want an error wrapping ErrNotJWT", token, err)
			}
			if len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("the error quotes the token: %v", err)
			}
			return
		}
		if j == nil || j.Header == nil || j.Claims == nil {
			t.Fatalf("DecodeJWT(%q) = %+v without error, want header and claims", token, j)
		}
		parts := strings.Split(token, ".")
		for i := range 2 {
			raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
			if !json.Valid(raw) {
				t.Fatalf("part %d of %q decoded, but %q is not one JSON value", i+1, token, raw)
			}
		}
		header, err1 := json.Marshal(j.Header)
		claims, err2 := json.Marshal(j.Claims)
		if err1 != nil || err2 != nil {
			t.Fatalf("re-encoding %+v: %v, %v", j, err1, err2)
		}
		again, err := DecodeJWT(rawJWT(string(header), string(claims)))
		if err != nil || !reflect.DeepEqual(again, j) {
			t.Fatalf("round trip of %q: %v\n%+v\n%+v", token, err, j, again)
		}
		for _, c := range []string{"exp", "iat", "nbf"} {
			if tm, ok := j.Time(c); ok && (tm.Unix() <= 0 || tm.Year() > 5200) {
				t.Fatalf("Time(%s) of %q = %v, want a plausible date or false", c, token, tm)
			}
		}
	})
}
