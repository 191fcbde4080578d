package auth

import (
	"encoding/asn1"
	"errors"
	"unicode/utf16"
)

// PKCS#12 structures (RFC 7292), as far as needed to read the aliases
// (friendlyName attributes) of a keystore's key bags. Those attributes
// sit outside the key's encryption, and Java and OpenSSL put the key bags
// in plain "data" content, so no password is needed. go-pkcs12 decodes a
// keystore with exactly one key and does not expose aliases.
type p12PFX struct {
	Version  int
	AuthSafe p12ContentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12SafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  `asn1:"tag:0,explicit"`
	Attributes []p12Attribute `asn1:"set,optional"`
}

type p12Attribute struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

var (
	oidP12Data         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidP12KeyBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidP12ShroudedBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidP12FriendlyName = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
)

// keystoreKeyAliases returns the aliases of the key bags that a keystore
// shows without its password (none when its keys are in encrypted
// content: the alias then cannot be checked before decoding).
func keystoreKeyAliases(der []byte) ([]string, error) {
	var pfx p12PFX
	if _, err := asn1.Unmarshal(der, &pfx); err != nil {
		return nil, errors.New("not a PKCS#12 keystore")
	}
	if !pfx.AuthSafe.ContentType.Equal(oidP12Data) {
		return nil, nil
	}
	var authSafe []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, nil
	}
	var infos []p12ContentInfo
	if _, err := asn1.Unmarshal(authSafe, &infos); err != nil {
		return nil, nil
	}
	var names []string
	for _, ci := range infos {
		if !ci.ContentType.Equal(oidP12Data) {
			continue
		}
		var content []byte
		if _, err := asn1.Unmarshal(ci.Content.Bytes, &content); err != nil {
			continue
		}
		var bags []p12SafeBag
		if _, err := asn1.Unmarshal(content, &bags); err != nil {
			continue
		}
		for _, b := range bags {
			if !b.ID.Equal(oidP12KeyBag) && !b.ID.Equal(oidP12ShroudedBag) {
				continue
			}
			for _, a := range b.Attributes {
				if !a.ID.Equal(oidP12FriendlyName) {
					continue
				}
				var bmp asn1.RawValue
				if _, err := asn1.Unmarshal(a.Value.Bytes, &bmp); err != nil || len(bmp.Bytes)%2 != 0 {
					continue
				}
				u := make([]uint16, len(bmp.Bytes)/2)
				for i := range u {
					u[i] = uint16(bmp.Bytes[2*i])<<8 | uint16(bmp.Bytes[2*i+1])
				}
				names = append(names, string(utf16.Decode(u)))
			}
		}
	}
	return names, nil
}
