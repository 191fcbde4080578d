package cmd

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/camctl/camctl/internal/testutil/oidctest"
)

// testBrowser is a person's browser for scripts, as camctl's opener
// starts it ($BROWSER URL): it signs in as $TEST_BROWSER_LOGIN with
// $TEST_BROWSER_PASSWORD in the identity provider's pages (through the
// proxy and CA of the environment, like camctl), consents, and follows
// the redirect to camctl's loopback listener. camctl drops its output,
// so it reports into $TEST_BROWSER_LOG when set.
func testBrowser() int {
	report := func(format string, args ...any) {
		if path := os.Getenv("TEST_BROWSER_LOG"); path != "" {
			_ = os.WriteFile(path, fmt.Appendf(nil, format, args...), 0o600)
		}
	}
	if len(os.Args) != 2 {
		report("usage: test-browser URL (got %q)\n", os.Args[1:])
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := oidctest.User{Login: os.Getenv("TEST_BROWSER_LOGIN"), Password: os.Getenv("TEST_BROWSER_PASSWORD")}
	res, err := oidctest.SignIn(ctx, os.Args[1], u, true)
	if err != nil {
		report("test-browser: %v\n", err)
		return 1
	}
	if res.Status != http.StatusOK {
		report("test-browser: %s answered %d: %s\n", res.URL, res.Status, res.Body)
		return 1
	}
	report("test-browser: ended on %s\n", res.URL)
	return 0
}
