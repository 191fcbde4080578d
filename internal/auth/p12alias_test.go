package auth

import (
	"encoding/asn1"
	"slices"
	"testing"
	"unicode/utf16"
)

// p12WithAlias builds a PKCS#12 structure (RFC 7292) as keytool writes
// one: a plain "data" content with a shrouded key bag whose friendlyName
// attribute is alias (the bag's value is not needed to read the alias).
func p12WithAlias(t *testing.T, alias string) []byte {
	t.Helper()
	mustMarshal := func(v any, params ...string) []byte {
		var b []byte
		var err error
		if len(params) > 0 {
			b, err = asn1.MarshalWithParams(v, params[0])
		} else {
			b, err = asn1.Marshal(v)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	u := utf16.Encode([]rune(alias))
	bmp := make([]byte, 2*len(u))
	for i, c := range u {
		bmp[2*i], bmp[2*i+1] = byte(c>>8), byte(c)
	}
	name := mustMarshal(asn1.RawValue{Tag: asn1.TagBMPString, Bytes: bmp})
	// The encoder's own types: explicit [0] wrappers written by hand.
	explicit0 := func(inner []byte) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}
	}
	type attr struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}
	type bag struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
		Attrs asn1.RawValue
	}
	type contentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}
	type pfx struct {
		Version  int
		AuthSafe contentInfo
	}
	a := mustMarshal(attr{ID: oidP12FriendlyName, Value: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: name}})
	b := bag{ID: oidP12ShroudedBag, Value: explicit0(mustMarshal(asn1.NullRawValue)), Attrs: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: a}}
	contents := mustMarshal([]bag{b})
	ci := contentInfo{ContentType: oidP12Data, Content: explicit0(mustMarshal(contents))}
	authSafe := mustMarshal([]contentInfo{ci})
	return mustMarshal(pfx{Version: 3, AuthSafe: contentInfo{ContentType: oidP12Data, Content: explicit0(mustMarshal(authSafe))}})
}

func TestKeystoreKeyAliases(t *testing.T) {
	got, err := keystoreKeyAliases(p12WithAlias(t, "camunda-signing ä"))
	if err != nil || !slices.Equal(got, []string{"camunda-signing ä"}) {
		t.Errorf("aliases %q, %v", got, err)
	}
	if _, err := keystoreKeyAliases([]byte("not a keystore")); err == nil {
		t.Error("garbage read as a keystore")
	}
}
