package tui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// clipboardTools are tried in order; env names the variable the tool needs
// to reach a clipboard (an X or Wayland tool over plain SSH has none).
var clipboardTools = []struct {
	env  string
	argv []string
}{
	{"WAYLAND_DISPLAY", []string{"wl-copy"}},
	{"DISPLAY", []string{"xclip", "-selection", "clipboard"}},
	{"DISPLAY", []string{"xsel", "-b", "-i"}},
	{"", []string{"pbcopy"}},
}

// ClipboardCommand picks the clipboard tool to pipe a copy to: the first
// of wl-copy, xclip, xsel and pbcopy that lookPath finds and whose display
// getenv says is there. nil when none applies.
func ClipboardCommand(lookPath func(string) (string, error), getenv func(string) string) []string {
	for _, t := range clipboardTools {
		if t.env != "" && getenv(t.env) == "" {
			continue
		}
		if p, err := lookPath(t.argv[0]); err == nil {
			return append([]string{p}, t.argv[1:]...)
		}
	}
	return nil
}

type copiedMsg struct {
	bytes int
	via   string // tool name, or "" when written to file
	file  string
	err   error
}

// copy puts text on the clipboard twice over: OSC 52, which works over
// SSH and tmux (set-clipboard on) but which many terminals ignore
// silently, and a local clipboard tool when one is on PATH. Without a tool
// (or when it fails) the text goes to a file under the system temporary
// directory, never beside the case or the evidence, and the status line
// gives its path.
func (m *Model) copy(s string) tea.Cmd {
	m.status = fmt.Sprintf("copying %d bytes…", len(s))
	argv := ClipboardCommand(m.lookPath, m.getenv)
	ctx := m.ctx
	return tea.Batch(tea.SetClipboard(s), func() tea.Msg { return copyFallback(ctx, argv, s) })
}

func copyFallback(ctx context.Context, argv []string, s string) copiedMsg {
	var toolErr error
	if argv != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin = strings.NewReader(s)
		// stdout and stderr stay unset (/dev/null): a tool that forks to
		// serve the selection must neither hold us nor touch the screen.
		if toolErr = cmd.Run(); toolErr == nil {
			return copiedMsg{bytes: len(s), via: filepath.Base(argv[0])}
		}
	}
	f, err := os.CreateTemp("", "foothold-copy-*.txt")
	if err != nil {
		return copiedMsg{err: fmt.Errorf("copy: no clipboard tool and no temporary file: %w", err)}
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return copiedMsg{err: fmt.Errorf("copy: %s: %w", f.Name(), err)}
	}
	msg := copiedMsg{bytes: len(s), file: f.Name()}
	if toolErr != nil {
		msg.via = fmt.Sprintf("%s failed: %v", filepath.Base(argv[0]), toolErr)
	}
	return msg
}

func (c copiedMsg) status() string {
	switch {
	case c.file == "":
		return fmt.Sprintf("copied %d bytes (OSC 52 + %s)", c.bytes, c.via)
	case c.via != "":
		return fmt.Sprintf("copied to %s (%d bytes; %s; OSC 52 sent)", c.file, c.bytes, c.via)
	}
	return fmt.Sprintf("copied to %s (%d bytes; no clipboard tool; OSC 52 sent)", c.file, c.bytes)
}
