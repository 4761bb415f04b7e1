package lnk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Stats is what one file gave: Records is the number of links decoded.
type Stats struct{ Records, Errors int64 }

// LocalPath is the local base path joined with the common path suffix,
// as lnkinfo shows it ("C:\Users\" + "Administrator").
func (l *Link) LocalPath() string {
	if l.LocalBasePath == "" {
		return ""
	}
	return join(l.LocalBasePath, l.CommonPathSuffix)
}

// NetworkPath is the share name joined with the common path suffix.
func (l *Link) NetworkPath() string {
	if l.NetName == "" {
		return ""
	}
	return join(l.NetName, l.CommonPathSuffix)
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	if strings.HasSuffix(a, `\`) {
		return a + b
	}
	return a + `\` + b
}

// IDListPath is the path the shell items spell, "" if they name no volume
// or share.
func (l *Link) IDListPath() string { return idListPath(l.Items) }

// TargetPath is the best path of the target: LinkInfo's local path, else
// its network path, else the shell items' path, else the environment
// block's unexpanded path.
func (l *Link) TargetPath() string {
	for _, p := range []string{l.LocalPath(), l.NetworkPath(), l.IDListPath(), l.EnvTarget} {
		if p != "" {
			return p
		}
	}
	return ""
}

// UNCHost is the server of a UNC target (\\host\share\...), the
// lateral-movement lead a link to a remote file gives; "" for local ones.
func (l *Link) UNCHost() string {
	for _, p := range []string{l.NetName, l.LocalBasePath, l.IDListPath()} {
		if h := uncHost(p); h != "" {
			return h
		}
	}
	return ""
}

func uncHost(p string) string {
	if !strings.HasPrefix(p, `\\`) || strings.HasPrefix(p, `\\?\`) || strings.HasPrefix(p, `\\.\`) {
		return ""
	}
	h := p[2:]
	if i := strings.IndexByte(h, '\\'); i >= 0 {
		h = h[:i]
	}
	return h
}

// DriveTypeName names LinkInfo's drive type.
func DriveTypeName(t uint32) string {
	switch t {
	case 0:
		return "unknown"
	case 1:
		return "no root directory"
	case 2:
		return "removable"
	case 3:
		return "fixed"
	case 4:
		return "remote"
	case 5:
		return "cdrom"
	case 6:
		return "ramdisk"
	}
	return fmt.Sprintf("type %d", t)
}

// Fields are the link's values as event fields, empty ones left out;
// target_path comes first for linking.
func (l *Link) Fields() []event.Field {
	var f []event.Field
	add := func(k string, v any) {
		if s, ok := v.(string); ok && s == "" {
			return
		}
		f = append(f, event.Field{Key: k, Value: v})
	}
	add("target_path", l.TargetPath())
	add("local_path", l.LocalPath())
	add("network_path", l.NetworkPath())
	add("unc_host", l.UNCHost())
	add("share_name", l.NetName)
	add("device_name", l.DeviceName)
	add("idlist_path", l.IDListPath())
	if l.HasVolume {
		add("drive_type", DriveTypeName(l.DriveType))
		add("volume_serial", fmt.Sprintf("%08X", l.VolumeSerial))
		add("volume_label", l.VolumeLabel)
	}
	add("file_size", int64(l.Size))
	add("file_attributes", fmt.Sprintf("0x%08x", l.Attributes))
	add("target_created", l.Created.String())
	add("target_modified", l.Modified.String())
	add("target_accessed", l.Accessed.String())
	add("description", l.Name)
	add("relative_path", l.RelativePath)
	add("working_dir", l.WorkingDir)
	add("arguments", l.Arguments)
	add("icon_location", l.IconLocation)
	add("env_target", l.EnvTarget)
	add("known_folder", l.KnownFolder)
	if t := l.Tracker; t != nil {
		add("machine_id", t.MachineID)
		add("mac", t.MAC)
		add("file_droid", t.FileDroid)
		add("volume_droid", t.VolumeDroid)
		add("birth_file_droid", t.BirthFileDroid)
		add("birth_volume_droid", t.BirthVolumeDroid)
	}
	if last := l.lastFile(); last != nil && last.MFTEntry != 0 {
		add("target_mft_entry", int64(last.MFTEntry))
		add("target_mft_sequence", int64(last.MFTSeq))
	}
	if len(l.Warnings) > 0 {
		add("warnings", strings.Join(l.Warnings, "; "))
	}
	return f
}

func (l *Link) lastFile() *ShellItem {
	for i := len(l.Items) - 1; i >= 0; i-- {
		if k := l.Items[i].Kind; k == "file" || k == "directory" {
			return &l.Items[i]
		}
	}
	return nil
}

// TargetEvents dates the target: one event per distinct non-zero header
// time, times that are equal merged into one event (MACB "M..B" when
// created and modified agree). A link with no times gives one event with
// Time 0 so that its target, share and tracker data still reach the case.
// Artifact is lnk and Type "target"; callers may change both.
func (l *Link) TargetEvents() []event.Event {
	type stamp struct {
		t    event.FileTime
		macb []byte
		desc []string
	}
	var stamps []*stamp
	for _, s := range []struct {
		t    event.FileTime
		pos  int
		desc string
	}{
		{l.Modified, 0, "Target modified"},
		{l.Accessed, 1, "Target accessed"},
		{l.Created, 3, "Target created"},
	} {
		if s.t == 0 {
			continue
		}
		var st *stamp
		for _, x := range stamps {
			if x.t == s.t {
				st = x
			}
		}
		if st == nil {
			st = &stamp{t: s.t, macb: []byte("....")}
			stamps = append(stamps, st)
		}
		st.macb[s.pos] = "MACB"[s.pos]
		st.desc = append(st.desc, s.desc)
	}
	target := l.TargetPath()
	fields := l.Fields()
	mk := func(t event.FileTime, macb, desc string) event.Event {
		msg := fmt.Sprintf("Shortcut to %s", orUnknown(target))
		if l.Arguments != "" {
			msg += " " + l.Arguments
		}
		if desc != "" {
			msg += ": " + strings.ToLower(desc[:1]) + desc[1:]
		}
		return event.Event{
			Time: t, TimeDesc: desc, MACB: macb, Artifact: event.LNK, Type: "target",
			Path: target, Message: msg, Fields: append([]event.Field(nil), fields...),
			Record: -1, Offset: 0,
		}
	}
	if len(stamps) == 0 {
		return []event.Event{mk(0, "", "")}
	}
	out := make([]event.Event, 0, len(stamps))
	for _, s := range stamps {
		desc := s.desc[0]
		for _, d := range s.desc[1:] {
			desc += ", " + strings.ToLower(strings.TrimPrefix(d, "Target "))
		}
		out = append(out, mk(s.t, string(s.macb), desc))
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown target)"
	}
	return s
}

// maxFileSize bounds how much of a file Parse reads.
const maxFileSize = maxLinkSize

// Parse decodes the .lnk file r and emits its target events. name is the
// file's path, for messages.
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (st Stats, err error) {
	where := "lnk"
	if name != "" {
		where = "lnk " + name
	}
	defer func() {
		if p := recover(); p != nil {
			st.Errors++
			err = fmt.Errorf("%s: panic: %v", where, p)
		}
	}()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if size > maxFileSize {
		size = maxFileSize
	}
	if size < 0 {
		size = 0
	}
	b := make([]byte, size)
	if n, rerr := r.ReadAt(b, 0); n < len(b) {
		if rerr == nil || errors.Is(rerr, io.EOF) {
			rerr = io.ErrUnexpectedEOF
		}
		st.Errors++
		return st, fmt.Errorf("%s: read %d of %d bytes: %w", where, n, size, rerr)
	}
	l, derr := Decode(b)
	if derr != nil {
		st.Errors++
		return st, fmt.Errorf("%s offset 0: %w", where, derr)
	}
	st.Records = 1
	evs := l.TargetEvents()
	for i := range evs {
		if err := sink.Emit(&evs[i]); err != nil {
			return st, err
		}
	}
	if len(l.Warnings) > 0 {
		st.Errors++
		return st, fmt.Errorf("%s: damaged link: %s", where, strings.Join(l.Warnings, "; "))
	}
	return st, nil
}
