//go:build linux

package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"
)

// Names of the Secret Service API; go-keyring's secret_service package
// keeps its own copies unexported.
const (
	ssBusName   = "org.freedesktop.secrets"
	ssPath      = dbus.ObjectPath("/org/freedesktop/secrets")
	ssInterface = "org.freedesktop.Secret.Service"
	// loginItems is where go-keyring creates items (the login
	// collection); an item found there wins over a namesake elsewhere.
	loginItems = "/org/freedesktop/secrets/collection/login/"
)

func newOSKeyring() KeyringBackend { return &secretService{} }

// secretService reads keyring items with the fewest D-Bus calls the
// Secret Service API allows. go-keyring's Get makes eight per item
// (Hello, Properties.Get of the collections, Unlock of the collection,
// SearchItems, OpenSession, Unlock of the item, GetSecret, Session.Close),
// and gnome-keyring takes 0.3-1.5 ms for each: that was most of a warm
// camctl run. A read here is
//
//	Service.SearchItems per key (all sent at once, then all answers read)
//	Service.OpenSession
//	Service.GetSecrets for all the items found
//	Session.Close, sent without waiting for an answer
//
// so a run that reads one secret makes five calls and waits four times.
// Service.SearchItems tells locked items from unlocked ones, so Unlock is
// called only for a locked item. OpenSession waits for the answers of the
// searches on purpose: with OpenSession first, gnome-keyring 42.1 aborted
// under back-to-back and parallel reads (issue 11), and with OpenSession
// sent right behind SearchItems, before its answer, it died in one of
// three runs of TestSecretServiceStress.
//
// Set and Delete are rare (login, logout, a new token) and stay with
// go-keyring, on the same shared session bus connection.
type secretService struct {
	goKeyring

	mu  sync.Mutex
	svc *ss.SecretService
	// session is open only within GetMany.
	session dbus.ObjectPath
	// collectionOK: the login collection was found and is unlocked, so a
	// search that finds nothing means nothing is stored.
	collectionOK bool
}

func (s *secretService) Get(service, user string) (string, error) {
	got, err := s.GetMany(service, []string{user})
	if err != nil {
		return "", err
	}
	v, ok := got[user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (s *secretService) GetMany(service string, users []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil || !s.svc.Connected() {
		// ss.NewSecretService uses godbus's shared session bus
		// connection, the one go-keyring's Set and Delete use too.
		svc, err := ss.NewSecretService()
		if err != nil {
			return nil, err
		}
		s.svc, s.collectionOK = svc, false
	}
	items, locked, err := s.search(service, users)
	if dbusErrorName(err) == "org.freedesktop.DBus.Error.UnknownMethod" {
		// gnome-keyring 42.1 gives this now and then under parallel
		// load (see closeSession); the same call a moment later works.
		items, locked, err = s.search(service, users)
	}
	if err != nil {
		return nil, err
	}
	if len(items) < len(uniqueUsers(users)) && !s.collectionOK {
		// A keyring without a usable login collection (none yet, or it
		// is locked) finds nothing either: that must be an error, as with
		// go-keyring, not "not stored". Only a miss pays for this check.
		if err := s.svc.Unlock(s.svc.GetLoginCollection().Path()); err != nil {
			return nil, err
		}
		s.collectionOK = true
	}
	for _, item := range locked {
		// Rare: gnome-keyring unlocks the login collection at log-in.
		// Unlock may prompt; the caller's timeout bounds the wait.
		if err := s.svc.Unlock(item); err != nil {
			return nil, fmt.Errorf("the keyring holding it is locked: %w", err)
		}
	}
	out := make(map[string]string, len(items))
	if len(items) == 0 {
		return out, nil
	}
	session, err := s.svc.OpenSession()
	if err != nil {
		return nil, err
	}
	s.session = session.Path()
	paths := make([]dbus.ObjectPath, 0, len(items))
	for _, p := range items {
		paths = append(paths, p)
	}
	var secrets map[dbus.ObjectPath]ss.Secret
	err = s.svc.Object(ssBusName, ssPath).Call(ssInterface+".GetSecrets", 0, paths, s.session).Store(&secrets)
	s.closeSession()
	if err != nil {
		return nil, err
	}
	for user, p := range items {
		secret, ok := secrets[p]
		if !ok {
			return nil, fmt.Errorf("the Secret Service gave no secret for item %q (locked meanwhile?)", user)
		}
		out[user] = string(secret.Value)
	}
	return out, nil
}

// closeSession closes the session without waiting for the answer: no
// round trip, yet the daemon learns of it before camctl exits. Leaving
// sessions open for the disconnect to end made gnome-keyring 42.1 answer
// other clients' SearchItems with UnknownMethod under parallel runs
// (TestSecretServiceStress, 2 of 8 runs; none of 9 with the Close).
func (s *secretService) closeSession() {
	if s.session != "" {
		s.svc.Object(ssBusName, s.session).Go("org.freedesktop.Secret.Session.Close", dbus.FlagNoReplyExpected, nil)
		s.session = ""
	}
}

// search finds the item of each user: all searches are sent before the
// first answer is read, so n keys cost about one round trip. locked lists
// the chosen items that must be unlocked before they can be read.
func (s *secretService) search(service string, users []string) (items map[string]dbus.ObjectPath, locked []dbus.ObjectPath, err error) {
	obj := s.svc.Object(ssBusName, ssPath)
	calls := map[string]*dbus.Call{}
	for _, user := range users {
		if calls[user] == nil {
			attrs := map[string]string{"username": user, "service": service}
			calls[user] = obj.Go(ssInterface+".SearchItems", 0, nil, attrs)
		}
	}
	items = map[string]dbus.ObjectPath{}
	var errs []error
	for user, call := range calls {
		<-call.Done
		var unlocked, lockedFound []dbus.ObjectPath
		if err := call.Store(&unlocked, &lockedFound); err != nil {
			errs = append(errs, err)
			continue
		}
		if p, ok := pickItem(unlocked); ok {
			items[user] = p
		} else if p, ok := pickItem(lockedFound); ok {
			items[user] = p
			locked = append(locked, p)
		}
	}
	if len(errs) > 0 {
		// Every answer is read first, so none is left queued.
		return nil, nil, errs[0]
	}
	return items, locked, nil
}

func dbusErrorName(err error) string {
	if e, ok := errors.AsType[dbus.Error](err); ok {
		return e.Name
	}
	return ""
}

func uniqueUsers(users []string) map[string]bool {
	m := make(map[string]bool, len(users))
	for _, u := range users {
		m[u] = true
	}
	return m
}

// pickItem prefers an item of the login collection, where go-keyring
// writes, over a namesake in another collection.
func pickItem(paths []dbus.ObjectPath) (dbus.ObjectPath, bool) {
	for _, p := range paths {
		if strings.HasPrefix(string(p), loginItems) {
			return p, true
		}
	}
	if len(paths) > 0 {
		return paths[0], true
	}
	return "", false
}
