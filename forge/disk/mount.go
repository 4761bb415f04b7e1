package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// fakeTimeLibs are the places Debian and others install the multi-threaded
// libfaketime; the MT build is the safe one for a FUSE daemon.
var fakeTimeLibs = []string{
	"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
	"/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
	"/usr/lib/faketime/libfaketimeMT.so.1",
	"/usr/local/lib/faketime/libfaketimeMT.so.1",
}

func fakeTimeLib() (string, error) {
	if p := os.Getenv("FAKETIME_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("FAKETIME_LIB: %w", err)
		}
		return p, nil
	}
	for _, p := range fakeTimeLibs {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("libfaketimeMT.so.1 not found (install libfaketime or set FAKETIME_LIB)")
}

const unixEpochTicks = 116444736000000000

// fakeClock renders ft as libfaketime's absolute "YYYY-MM-DD HH:MM:SS.f"
// (read in TZ=UTC). libfaketime parses the fraction through a double and
// ntfs-3g truncates to 100 ns, so about 2% of values would come out one
// tick low; appending half a tick ("50") makes every value exact.
func fakeClock(ft event.FileTime) (string, error) {
	if ft < unixEpochTicks {
		return "", fmt.Errorf("clock %s is before 1970 (libfaketime works in Unix time)", ft)
	}
	secs := int64((uint64(ft) - unixEpochTicks) / 10_000_000)
	frac := (uint64(ft) - unixEpochTicks) % 10_000_000
	return fmt.Sprintf("%s.%07d50", time.Unix(secs, 0).UTC().Format("2006-01-02 15:04:05"), frac), nil
}

// fakeEnv is the environment for a tool that must see a stopped clock.
func fakeEnv(lib, clock string) []string {
	env := []string{"TZ=UTC", "LC_ALL=C", "LD_PRELOAD=" + lib, "FAKETIME=" + clock, "FAKETIME_DONT_FAKE_MONOTONIC=1"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "TZ", k == "LC_ALL", k == "LD_PRELOAD", strings.HasPrefix(k, "FAKETIME"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// mountCount counts driver mounts (for tests comparing batching).
var mountCount atomic.Int64

// mounter runs one ntfs-3g (or lowntfs-3g) mount of a volume file at a
// time. The driver runs in the foreground (no_detach) as our child so we
// can wait for it after umount: a file-backed mount is plain "fuse", and
// ntfs-3g is still flushing the volume when umount returns.
type mounter struct {
	vol, mnt, lib string
	log           lockedBuffer // output of every driver run, for errors

	cmd  *exec.Cmd
	done chan error
	what string
}

func (m *mounter) mounted() bool {
	var st, parent syscall.Stat_t
	if syscall.Stat(m.mnt, &st) != nil || syscall.Stat(filepath.Dir(m.mnt), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// mount mounts the volume with the clock stopped at ft.
func (m *mounter) mount(ctx context.Context, driver string, ft event.FileTime) error {
	if m.cmd != nil {
		return errors.New("internal: volume already mounted")
	}
	clock, err := fakeClock(ft)
	if err != nil {
		return err
	}
	opts := "no_detach,noatime,permissions"
	if driver == "ntfs-3g" {
		opts += ",streams_interface=windows" // file:stream opens an ADS
	}
	m.what = fmt.Sprintf("%s at %s", driver, ft)
	mountCount.Add(1)
	m.log.Reset()
	cmd := exec.Command(driver, "-o", opts, m.vol, m.mnt)
	cmd.Env = fakeEnv(m.lib, clock)
	cmd.Stdout = &m.log
	cmd.Stderr = &m.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", m.what, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	m.cmd, m.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for !m.mounted() {
		select {
		case err := <-done:
			m.cmd = nil
			return fmt.Errorf("%s: driver exited before mounting (%v): %s", m.what, err, m.tail())
		case <-ctx.Done():
			m.abort()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.abort()
			return fmt.Errorf("%s: not mounted after 15 s: %s", m.what, m.tail())
		}
	}
	return nil
}

// unmount detaches the mount and waits for the driver to finish writing.
func (m *mounter) unmount() error {
	if m.cmd == nil {
		return nil
	}
	var err error
	for i := 0; i < 50; i++ {
		if err = syscall.Unmount(m.mnt, 0); err != syscall.EBUSY {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		m.abort()
		return fmt.Errorf("%s: umount: %w", m.what, err)
	}
	werr := <-m.done
	m.cmd = nil
	if werr != nil {
		return fmt.Errorf("%s: driver failed: %v: %s", m.what, werr, m.tail())
	}
	return nil
}

// abort is the error path: lazy unmount, kill our driver, reap it.
func (m *mounter) abort() {
	if m.cmd == nil {
		return
	}
	_ = syscall.Unmount(m.mnt, syscall.MNT_DETACH)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

func (m *mounter) tail() string {
	s := strings.TrimSpace(m.log.String())
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

// lockedBuffer collects driver output; the exec package copies into it
// from its own goroutine while we may read it for an error message.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
