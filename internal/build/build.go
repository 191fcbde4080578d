// Package build holds the version stamped into the binary.
package build

import (
	"fmt"
	"runtime/debug"
)

// Set by the release build with -ldflags "-X github.com/camctl/camctl/internal/build.Version=...".
var (
	Version = ""
	Commit  = ""
	// Date is the commit date (reproducible builds), not the build time.
	Date = ""
)

// Info is what `camctl version` reports.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Go      string `json:"go"`
}

// Get returns the stamped version, falling back to the module build info
// that `go install github.com/camctl/camctl@vX` records.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, Date: Date}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		info.Go = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.Date == "":
				info.Date = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// String renders the version line.
func (i Info) String() string {
	s := "camctl " + i.Version
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += fmt.Sprintf(" (commit %s", c)
		if i.Date != "" {
			s += ", " + i.Date
		}
		s += ")"
	} else if i.Date != "" {
		s += " (" + i.Date + ")"
	}
	return s
}
