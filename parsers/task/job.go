package task

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// Job is a Task Scheduler 1.0 .job file ([MS-TSCH] 2.4): a 68-byte fixed
// section, then counted UTF-16 strings and 48-byte triggers.
type Job struct {
	ProductVersion, FileVersion uint16
	UUID                        [16]byte
	Priority                    uint32
	MaxRunTimeMS                uint32
	ExitCode                    uint32
	Status                      uint32 // SCHED_S_TASK_READY 0x41300, _RUNNING 0x41301, _HAS_NOT_RUN 0x41303 ...
	Flags                       uint32
	// LastRun is the local wall-clock SYSTEMTIME of the last run; zero
	// when the job never ran.
	LastRun                             SystemTime
	RunningInstances                    uint16
	Application, Parameters, WorkingDir string
	Author, Comment                     string
	Triggers                            []JobTrigger
	// Err reports damage found after the fixed section: what was read
	// before it is kept.
	Err error
}

// SystemTime is a Windows SYSTEMTIME as stored (local time in .job files).
type SystemTime struct {
	Year, Month, Weekday, Day, Hour, Minute, Second, Millisecond uint16
}

// IsZero reports whether no time is stored.
func (s SystemTime) IsZero() bool { return s == SystemTime{} }

// String renders 2013-08-24T12:42:00.112 (no zone: it is local time).
func (s SystemTime) String() string {
	if s.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03d", s.Year, s.Month, s.Day, s.Hour, s.Minute, s.Second, s.Millisecond)
}

// JobTrigger is one 48-byte trigger.
type JobTrigger struct {
	Type                                    uint32 // 0 once, 1 daily, 2 weekly, 3 monthly date, 4 monthly dow, 5 idle, 6 at system start, 7 at logon
	BeginYear, BeginMonth, BeginDay         uint16
	EndYear, EndMonth, EndDay               uint16
	StartHour, StartMinute                  uint16
	MinutesDuration, MinutesInterval, Flags uint32
}

var jobTriggerNames = []string{"Once", "Daily", "Weekly", "MonthlyDate", "MonthlyDOW", "OnIdle", "AtSystemStart", "AtLogon"}

// String renders "Daily start 2013-07-12T15:42".
func (tr JobTrigger) String() string {
	kind := fmt.Sprintf("Type%d", tr.Type)
	if int(tr.Type) < len(jobTriggerNames) {
		kind = jobTriggerNames[tr.Type]
	}
	s := fmt.Sprintf("%s start %04d-%02d-%02dT%02d:%02d", kind, tr.BeginYear, tr.BeginMonth, tr.BeginDay, tr.StartHour, tr.StartMinute)
	if tr.EndYear != 0 {
		s += fmt.Sprintf(" end %04d-%02d-%02d", tr.EndYear, tr.EndMonth, tr.EndDay)
	}
	if tr.Flags&4 != 0 { // TASK_TRIGGER_FLAG_DISABLED
		s += " disabled"
	}
	return s
}

const (
	jobFixedSize   = 68
	jobTriggerSize = 48
	// maxJobTriggers bounds the trigger count; the Task Scheduler UI
	// allows a handful.
	maxJobTriggers = 1024
)

// IsJob reports whether head starts like a .job file: file version 1 and
// the application-name offset right after the fixed section.
func IsJob(head []byte) bool {
	if len(head) < jobFixedSize+2 {
		return false
	}
	le := binary.LittleEndian
	prod := le.Uint16(head[0:])
	appOff := le.Uint16(head[20:])
	trigOff := le.Uint16(head[22:])
	return le.Uint16(head[2:]) == 1 && prod >= 0x0400 && prod <= 0x0A00 &&
		appOff == 0x46 && trigOff > appOff
}

// ReadJob decodes a .job file.
func ReadJob(b []byte) (*Job, error) {
	if len(b) < jobFixedSize+2 {
		return nil, fmt.Errorf("job: %d bytes, shorter than the %d-byte fixed section", len(b), jobFixedSize+2)
	}
	le := binary.LittleEndian
	j := &Job{
		ProductVersion: le.Uint16(b[0:]),
		FileVersion:    le.Uint16(b[2:]),
		Priority:       le.Uint32(b[32:]),
		MaxRunTimeMS:   le.Uint32(b[36:]),
		ExitCode:       le.Uint32(b[40:]),
		Status:         le.Uint32(b[44:]),
		Flags:          le.Uint32(b[48:]),
	}
	copy(j.UUID[:], b[4:20])
	if j.FileVersion != 1 {
		return nil, fmt.Errorf("job: file version %d, want 1", j.FileVersion)
	}
	st := b[52:68]
	j.LastRun = SystemTime{le.Uint16(st[0:]), le.Uint16(st[2:]), le.Uint16(st[4:]), le.Uint16(st[6:]),
		le.Uint16(st[8:]), le.Uint16(st[10:]), le.Uint16(st[12:]), le.Uint16(st[14:])}
	appOff := int(le.Uint16(b[20:]))
	trigOff := int(le.Uint16(b[22:]))
	j.RunningInstances = le.Uint16(b[68:])
	if appOff < jobFixedSize+2 || appOff > len(b) {
		j.Err = fmt.Errorf("job: application name offset %d outside the %d-byte file", appOff, len(b))
		return j, nil
	}
	off := appOff
	str := func(field string) (string, bool) {
		if off+2 > len(b) {
			j.Err = fmt.Errorf("job: %s at offset %d: truncated", field, off)
			return "", false
		}
		n := int(le.Uint16(b[off:])) // characters, NUL included
		off += 2
		if off+2*n > len(b) {
			j.Err = fmt.Errorf("job: %s at offset %d: %d characters run past the end", field, off-2, n)
			return "", false
		}
		u := make([]uint16, n)
		for i := range u {
			u[i] = le.Uint16(b[off+2*i:])
		}
		off += 2 * n
		return trimNUL(string(utf16.Decode(u))), true
	}
	var ok bool
	for _, f := range []struct {
		name string
		dst  *string
	}{{"application name", &j.Application}, {"parameters", &j.Parameters}, {"working directory", &j.WorkingDir},
		{"author", &j.Author}, {"comment", &j.Comment}} {
		if *f.dst, ok = str(f.name); !ok {
			return j, nil
		}
	}
	// Triggers are found by their own offset from the fixed section; the
	// user and reserved data between the strings and them are skipped.
	if trigOff+2 > len(b) {
		j.Err = fmt.Errorf("job: trigger offset %d outside the %d-byte file", trigOff, len(b))
		return j, nil
	}
	n := int(le.Uint16(b[trigOff:]))
	if n > maxJobTriggers {
		j.Err = fmt.Errorf("job: %d triggers at offset %d is not plausible", n, trigOff)
		return j, nil
	}
	p := trigOff + 2
	for i := 0; i < n; i++ {
		if p+jobTriggerSize > len(b) {
			j.Err = fmt.Errorf("job: trigger %d at offset %d: truncated", i, p)
			return j, nil
		}
		t := b[p : p+jobTriggerSize]
		if sz := le.Uint16(t[0:]); sz != jobTriggerSize {
			j.Err = fmt.Errorf("job: trigger %d at offset %d: size %d, want %d", i, p, sz, jobTriggerSize)
			return j, nil
		}
		j.Triggers = append(j.Triggers, JobTrigger{
			BeginYear: le.Uint16(t[4:]), BeginMonth: le.Uint16(t[6:]), BeginDay: le.Uint16(t[8:]),
			EndYear: le.Uint16(t[10:]), EndMonth: le.Uint16(t[12:]), EndDay: le.Uint16(t[14:]),
			StartHour: le.Uint16(t[16:]), StartMinute: le.Uint16(t[18:]),
			MinutesDuration: le.Uint32(t[20:]), MinutesInterval: le.Uint32(t[24:]),
			Flags: le.Uint32(t[28:]), Type: le.Uint32(t[32:]),
		})
		p += jobTriggerSize
	}
	return j, nil
}

// errBadSystemTime marks a SYSTEMTIME with out-of-range parts.
var errBadSystemTime = errors.New("invalid SYSTEMTIME")

// FileTime converts the SYSTEMTIME, read in loc, to a FileTime.
func (s SystemTime) FileTime(loc *time.Location) (event.FileTime, error) {
	if s.Month < 1 || s.Month > 12 || s.Day < 1 || s.Day > 31 || s.Hour > 23 || s.Minute > 59 || s.Second > 59 || s.Millisecond > 999 || s.Year < 1601 {
		return 0, errBadSystemTime
	}
	t := time.Date(int(s.Year), time.Month(s.Month), int(s.Day), int(s.Hour), int(s.Minute), int(s.Second), int(s.Millisecond)*1e6, loc)
	return event.FromTime(t), nil
}

// taskNameFromJob is the job's name as the Task Scheduler shows it: the
// file name without .job.
func taskNameFromJob(name string) string {
	n := strings.ReplaceAll(name, "/", `\`)
	if i := strings.LastIndex(n, `\`); i >= 0 {
		n = n[i+1:]
	}
	if strings.HasSuffix(strings.ToLower(n), ".job") {
		n = n[:len(n)-4]
	}
	return n
}

// Event builds the timeline event of a .job file: its last run when it
// ran, else the job itself undated.
func (j *Job) Event(name string, bias *time.Location) *event.Event {
	ev := &event.Event{Artifact: event.Task, Type: "job", TimeDesc: "Job (never run)", User: j.Author, Path: name, Record: -1, Offset: -1}
	last := j.LastRun.String()
	if !j.LastRun.IsZero() {
		ev.Type = "last_run"
		ev.TimeDesc = "Last run (local time, zone unknown)"
		if bias != nil {
			if ft, err := j.LastRun.FileTime(bias); err == nil {
				ev.Time = ft
				ev.TimeDesc = "Last run"
			}
		}
	}
	var triggers []string
	for _, tr := range j.Triggers {
		triggers = append(triggers, tr.String())
	}
	taskName := taskNameFromJob(name)
	ev.Add("task_name", taskName)
	ev.Add("command", j.Application)
	ev.Add("arguments", j.Parameters)
	ev.Add("working_dir", j.WorkingDir)
	ev.Add("target_path", j.Application)
	// .job files carry no run-as account (it is in the credential store);
	// the author is the account that created the job.
	ev.Add("run_as", "")
	ev.Add("author", j.Author)
	ev.Add("last_run", last)
	ev.Add("triggers", strings.Join(triggers, "\n"))
	ev.Add("comment", j.Comment)
	ev.Add("status", fmt.Sprintf("0x%08x", j.Status))
	ev.Add("exit_code", int64(j.ExitCode))
	ev.Add("flags", fmt.Sprintf("0x%08x", j.Flags))
	var msg strings.Builder
	fmt.Fprintf(&msg, "Scheduled job %s runs %s", taskName, j.Application)
	if j.Parameters != "" {
		fmt.Fprintf(&msg, " %s", j.Parameters)
	}
	if j.Author != "" {
		fmt.Fprintf(&msg, ", created by %s", j.Author)
	}
	if last != "" {
		fmt.Fprintf(&msg, "; last run %s", last)
		if ev.Time == 0 {
			msg.WriteString(" (local time)")
		}
	} else {
		msg.WriteString("; never run")
	}
	ev.Message = msg.String()
	return ev
}
