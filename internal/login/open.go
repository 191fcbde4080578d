package login

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
)

// OpenerCommand is the program (and its arguments before the URL) that
// opens a URL in the person's browser: $BROWSER when set (as gh, git and
// Python's webbrowser honour it), else the platform's opener. Nothing
// goes through a shell: the URL is one argument.
func OpenerCommand(goos string, getenv func(string) string) []string {
	if b := strings.Fields(getenv("BROWSER")); len(b) > 0 {
		return b
	}
	switch goos {
	case "darwin":
		return []string{"open"}
	case "windows":
		// What Go's own tools use: no console window, no cmd.exe quoting.
		return []string{"rundll32", "url.dll,FileProtocolHandler"}
	default:
		return []string{"xdg-open"}
	}
}

// SystemOpener returns a function that opens a URL with OpenerCommand.
// It returns once the opener started; the opener's own output is
// dropped (xdg-open talks a lot), and it is reaped in the background.
func SystemOpener(getenv func(string) string) func(url string) error {
	argv := OpenerCommand(runtime.GOOS, getenv)
	return func(url string) error {
		path, err := exec.LookPath(argv[0])
		if err != nil {
			return fmt.Errorf("no browser opener: %w", err)
		}
		// #nosec G204 -- the opener is the platform's or the user's $BROWSER, and the URL one argument, without a shell.
		cmd := exec.Command(path, OpenerArgs(argv, url)...)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", argv[0], err)
		}
		go func() { _ = cmd.Wait() }()
		return nil
	}
}

// OpenerArgs are the arguments after the program: the URL in place of a
// %s (as Python's webbrowser and xdg's $BROWSER convention allow, e.g.
// BROWSER="firefox --new-tab %s"), else appended.
func OpenerArgs(argv []string, url string) []string {
	args := make([]string, 0, len(argv))
	placed := false
	for _, a := range argv[1:] {
		if strings.Contains(a, "%s") {
			a, placed = strings.ReplaceAll(a, "%s", url), true
		}
		args = append(args, a)
	}
	if !placed {
		args = append(args, url)
	}
	return args
}
