//go:build linux

package auth

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkSessionBus decides whether go-keyring may be called at all. When
// godbus finds no session bus address it runs dbus-launch, which (with
// dbus-x11 installed) starts a dbus-daemon and, through it, a
// gnome-keyring-daemon that both outlive camctl: every invocation would
// leak two processes (cli/cli#7582). So without a bus we fail here and
// never call go-keyring.
//
// godbus uses DBUS_SESSION_BUS_ADDRESS, else the socket
// /run/user/<uid>/bus (uidRuntimeDir), else dbus-launch. $XDG_RUNTIME_DIR
// is the standard place of that socket, but godbus does not read it, so a
// socket there counts only when it is the one godbus will find.
func checkSessionBus(getenv func(string) string, uidRuntimeDir string) error {
	if addr := getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return nil
	}
	runtimeDir := getenv("XDG_RUNTIME_DIR")
	if runtimeDir == "" {
		return fmt.Errorf("%w: no D-Bus session bus to reach the Secret Service (DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are not set)",
			ErrUnavailable)
	}
	bus := filepath.Join(runtimeDir, "bus")
	fi, err := os.Stat(bus)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%w: no D-Bus session bus to reach the Secret Service (DBUS_SESSION_BUS_ADDRESS is not set and there is no socket %s)",
			ErrUnavailable, bus)
	}
	if !sameFile(fi, filepath.Join(uidRuntimeDir, "bus")) {
		return fmt.Errorf("%w: DBUS_SESSION_BUS_ADDRESS is not set and the session bus %s is not where the keyring library looks for it; export DBUS_SESSION_BUS_ADDRESS=unix:path=%s to use it",
			ErrUnavailable, bus, bus)
	}
	return nil
}

func sameFile(fi os.FileInfo, path string) bool {
	other, err := os.Stat(path)
	return err == nil && os.SameFile(fi, other)
}

// uidRuntimeDir is where godbus looks for the session bus socket.
func uidRuntimeDir() string {
	return fmt.Sprintf("/run/user/%d", os.Getuid())
}
