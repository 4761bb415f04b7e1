package artifacts

import (
	"fmt"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Task is a scheduled task as `schtasks /create` registers it (task
// schema 1.2). The file under Windows\System32\Tasks and the TaskContent
// of Security 4698 hold the same XML.
type Task struct {
	URI    string // \Microsoft\Windows\UpdateOrchestrator\Backup Scan
	Author string // DOMAIN\user who registered it
	// Date is the registration time. Windows writes it as local wall-clock
	// time without zone or fraction, so Zone (nil: UTC) matters.
	Date        event.FileTime
	Zone        *time.Location
	Description string
	Triggers    []Trigger
	// UserID: a SID for well-known accounts (S-1-5-18 for /ru SYSTEM) or
	// DOMAIN\user. LogonType is omitted when empty (SYSTEM tasks);
	// InteractiveToken or Password otherwise. RunLevel defaults to
	// LeastPrivilege (HighestAvailable with /rl highest).
	UserID, LogonType, RunLevel string
	Command, Arguments          string
	Hidden                      bool
}

// TriggerKind names the trigger element.
type TriggerKind string

const (
	BootTrigger     TriggerKind = "BootTrigger"     // /sc onstart
	LogonTrigger    TriggerKind = "LogonTrigger"    // /sc onlogon
	TimeTrigger     TriggerKind = "TimeTrigger"     // /sc once
	CalendarTrigger TriggerKind = "CalendarTrigger" // /sc daily
)

// Trigger is one trigger. schtasks sets StartBoundary even for boot and
// logon triggers: the registration time truncated to the minute.
type Trigger struct {
	Kind         TriggerKind
	Start        event.FileTime // local wall clock in the task's Zone
	DaysInterval int            // CalendarTrigger only; 0 means 1
}

// TaskXML renders the task file: UTF-16LE with a byte-order mark, CRLF
// line ends, two-space indentation, no newline after </Task> (the layout of
// the 4698 TaskContent that python-evtx shows for schtasks-made tasks).
func TaskXML(t Task) []byte {
	zone := t.Zone
	if zone == nil {
		zone = time.UTC
	}
	local := func(f event.FileTime) string { return f.Time().In(zone).Format("2006-01-02T15:04:05") }
	runLevel := t.RunLevel
	if runLevel == "" {
		runLevel = "LeastPrivilege"
	}
	var b strings.Builder
	line := func(indent int, s string) {
		b.WriteString(strings.Repeat("  ", indent))
		b.WriteString(s)
		b.WriteString("\r\n")
	}
	elem := func(indent int, name, value string) {
		line(indent, "<"+name+">"+escapeXML(value)+"</"+name+">")
	}
	line(0, `<?xml version="1.0" encoding="UTF-16"?>`)
	line(0, `<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">`)
	line(1, "<RegistrationInfo>")
	if t.Date != 0 {
		elem(2, "Date", local(t.Date))
	}
	if t.Author != "" {
		elem(2, "Author", t.Author)
	}
	if t.Description != "" {
		elem(2, "Description", t.Description)
	}
	elem(2, "URI", t.URI)
	line(1, "</RegistrationInfo>")
	line(1, "<Triggers>")
	for _, tr := range t.Triggers {
		line(2, "<"+string(tr.Kind)+">")
		if tr.Start != 0 {
			elem(3, "StartBoundary", local(tr.Start))
		}
		elem(3, "Enabled", "true")
		if tr.Kind == CalendarTrigger {
			n := tr.DaysInterval
			if n <= 0 {
				n = 1
			}
			line(3, "<ScheduleByDay>")
			elem(4, "DaysInterval", fmt.Sprint(n))
			line(3, "</ScheduleByDay>")
		}
		line(2, "</"+string(tr.Kind)+">")
	}
	line(1, "</Triggers>")
	line(1, "<Settings>")
	for _, kv := range [][2]string{
		{"MultipleInstancesPolicy", "IgnoreNew"},
		{"DisallowStartIfOnBatteries", "true"},
		{"StopIfGoingOnBatteries", "true"},
		{"AllowHardTerminate", "true"},
		{"StartWhenAvailable", "false"},
		{"RunOnlyIfNetworkAvailable", "false"},
	} {
		elem(2, kv[0], kv[1])
	}
	line(2, "<IdleSettings>")
	elem(3, "Duration", "PT10M")
	elem(3, "WaitTimeout", "PT1H")
	elem(3, "StopOnIdleEnd", "true")
	elem(3, "RestartOnIdle", "false")
	line(2, "</IdleSettings>")
	for _, kv := range [][2]string{
		{"AllowStartOnDemand", "true"},
		{"Enabled", "true"},
		{"Hidden", fmt.Sprint(t.Hidden)},
		{"RunOnlyIfIdle", "false"},
		{"WakeToRun", "false"},
		{"ExecutionTimeLimit", "PT72H"},
		{"Priority", "7"},
	} {
		elem(2, kv[0], kv[1])
	}
	line(1, "</Settings>")
	line(1, `<Actions Context="Author">`)
	line(2, "<Exec>")
	elem(3, "Command", t.Command)
	if t.Arguments != "" {
		elem(3, "Arguments", t.Arguments)
	}
	line(2, "</Exec>")
	line(1, "</Actions>")
	line(1, "<Principals>")
	line(2, `<Principal id="Author">`)
	elem(3, "UserId", t.UserID)
	if t.LogonType != "" {
		elem(3, "LogonType", t.LogonType)
	}
	elem(3, "RunLevel", runLevel)
	line(2, "</Principal>")
	line(1, "</Principals>")
	b.WriteString("</Task>")
	return utf16LEWithBOM(b.String())
}

// escapeXML escapes what the Task Scheduler's XML writer escapes in text
// content: &, < and >. Quotes stay literal (command lines are full of them).
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeXML(s string) string { return xmlText.Replace(s) }

// utf16LEWithBOM encodes s as UTF-16LE preceded by FF FE.
func utf16LEWithBOM(s string) []byte {
	u := wire.UTF16Z(s)
	return append([]byte{0xFF, 0xFE}, u[:len(u)-2]...)
}
