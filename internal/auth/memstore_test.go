package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestFailingStore(t *testing.T) {
	broken := fmt.Errorf("%w: failed to unlock correct collection", ErrUnavailable)
	for _, tt := range []struct {
		err  error
		want error
	}{
		{broken, broken},
		{nil, ErrUnavailable},
	} {
		s := NewFailingStore(tt.err)
		for _, op := range storeOps {
			if err := op.call(t.Context(), s); err != tt.want {
				t.Errorf("NewFailingStore(%v).%s: %v, want %v", tt.err, op.name, err, tt.want)
			}
		}
	}
}

func TestMemoryStoreKindAndContext(t *testing.T) {
	s := NewMemoryStore()
	if got := s.Kind(); got != "memory" {
		t.Errorf("Kind() = %q, want memory", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, op := range storeOps {
		if err := op.call(ctx, s); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", op.name, err)
		}
	}
}

// Run with -race: the store is shared by concurrent commands in tests.
func TestMemoryStoreConcurrent(t *testing.T) {
	s := NewMemoryStore()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			key := fmt.Sprintf("profile/p%d/password", i)
			value := secretOfSize(3000 + i)
			if err := s.Set(t.Context(), key, value); err != nil {
				t.Error(err)
				return
			}
			if got, err := s.Get(t.Context(), key); err != nil || got != value {
				t.Errorf("Get(%s): %d bytes, %v", key, len(got), err)
			}
		})
	}
	wg.Wait()
}
